"""Photos: upload, re-encode, thumbnails: the tables."""
