"""Reference data lives in the database: device types and the installation
standard are loaded by the first migration (migrations/versions/0001_foundation.py)
and edited by admins through /api/v1/device-types and /api/v1/installation-standard."""
