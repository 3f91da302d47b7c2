"""Where photo files live. Files are immutable and named by the SHA-256 of their
bytes, so storing the same file twice is a no-op and a key never changes meaning.

`LocalPhotoStorage` keeps them on disk; an object-storage backend (OSS, COS, S3)
implements the same three methods and is chosen by `photo_storage()`.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app


class PhotoStorage:
    def put(self, data):
        """Store `data`; return its key (hex SHA-256)."""
        raise NotImplementedError

    def get(self, key):
        """The bytes stored under `key`, or None."""
        raise NotImplementedError

    def delete(self, key):
        raise NotImplementedError


class LocalPhotoStorage(PhotoStorage):
    def __init__(self, root):
        self.root = Path(root)

    def _path(self, key):
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError("not a storage key")
        return self.root / key[:2] / key[2:4] / f"{key}.jpg"

    def put(self, data):
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write aside, then rename: a reader never sees half a file, two writers both succeed.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".up-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return key

    def get(self, key):
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key):
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass


def photo_storage():
    return LocalPhotoStorage(current_app.config["PHOTO_STORAGE_DIR"])
