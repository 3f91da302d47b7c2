"""`push` (a fake push service with VAPID keys) and `clock` live in tests/conftest.py."""
