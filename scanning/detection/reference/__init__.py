"""Reference data that value-only recognizers compare values against, loaded lazily once per process from
maintained packages (never from the test-data generator the benchmark corpus uses)."""
