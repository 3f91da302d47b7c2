"""Photos: upload, re-encode, thumbnails."""
