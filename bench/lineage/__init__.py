"""SQL lineage throughput: Racine's engine beside sqllineage on the same statements (issue 14 item 8)."""
