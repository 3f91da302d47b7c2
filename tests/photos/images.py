"""Images made here with Pillow, for the photo tests and other domains' tests."""

import io
import struct
import zlib

from PIL import Image


def jpeg(size=(64, 48), color=(200, 30, 30), exif=None):
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    Image.new("RGB", size, color).save(out, "JPEG", **kwargs)
    return out.getvalue()


def png(size=(64, 48), color=(30, 30, 200, 128)):
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, "PNG")
    return out.getvalue()


def webp(size=(64, 48)):
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 10)).save(out, "WEBP")
    return out.getvalue()


def exif_with_gps(orientation=6):
    """EXIF with a camera make, an orientation and a GPS position (Tiananmen)."""
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"  # Make
    exif[0x0112] = orientation  # Orientation: 6 = rotate 90° clockwise to view
    gps = {1: "N", 2: (39.0, 54.0, 31.3), 3: "E", 4: (116.0, 23.0, 51.0)}
    exif[0x8825] = gps  # GPSInfo IFD
    return exif


def png_bomb(width=50_000, height=50_000):
    """A valid PNG header claiming width x height pixels, with a tiny compressed body:
    opening it costs nothing, decoding it would need gigabytes."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
