"""Detection benchmark: Racine vs Presidio on a labelled, generated corpus."""
