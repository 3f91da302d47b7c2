"""CSV bulk import of devices.

Accepts UTF-8 (with or without BOM) and GB18030 — what Excel on a Chinese
Windows saves — with Chinese or English headers. Every bad row is reported
with its line number; nothing is imported while any row is bad unless the
caller asks for the good rows to go in.
"""

import csv
import io
from datetime import datetime, timezone

from sqlalchemy import insert

from api.common.clock import SHANGHAI, utcnow
from api.devices.models import DEVICE_STATUSES, Device, DeviceType
from api.errors import AppError
from api.extensions import db
from api.people.scopes import current_user, read_scope, scope_of
from api.places.models import Place

MAX_ROWS = 50_000
WRITE_ROLES = ("admin", "operator")

HEADERS = {
    "serial": ("serial", "序列号", "设备编号", "设备序列号"),
    "imei": ("imei", "IMEI", "imei号"),
    "type": ("type", "type_code", "设备类型", "类型"),
    "place": ("place", "place_code", "场所编码", "位置编码", "安装场所编码"),
    "location_text": ("location", "location_text", "安装位置", "位置"),
    "lat": ("lat", "latitude", "纬度"),
    "lng": ("lng", "lon", "longitude", "经度"),
    "installed_at": ("installed_at", "安装时间", "安装日期"),
    "status": ("status", "状态"),
}
_HEADER_LOOKUP = {alias.strip().lower(): key for key, aliases in HEADERS.items() for alias in aliases}
STATUS_ZH = {"在用": "active", "停用": "inactive", "故障": "fault", "拆除": "removed"}
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d")


def decode(raw):
    if isinstance(raw, str):
        return raw, "utf-8"
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise AppError(
            "validation_error", errors={"file": ["the file is neither UTF-8 nor GB18030 text"]}, status=422
        ) from None


def _parse_time(text):
    text = text.strip()
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        dt = None
    if dt is None:
        for fmt in DATE_FORMATS:
            try:
                dt = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if dt is None:
        raise ValueError("not a date (use 2024-05-01 or 2024-05-01 10:30)")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)  # a date typed in China means Beijing time
    return dt.astimezone(timezone.utc)


def _type_index():
    index = {}
    for t in DeviceType.query.all():
        for name in (t.code, t.name_zh, t.name_en):
            index[name.strip().lower()] = t.code
    return index


def import_devices(raw, accept_partial=False, dry_run=False):
    text, encoding = decode(raw)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise AppError("validation_error", errors={"file": ["the file is empty"]}, status=422) from None
    columns = [_HEADER_LOOKUP.get(h.strip().lower()) for h in header]
    missing = [k for k in ("serial", "type", "place") if k not in columns]
    if missing:
        raise AppError(
            "validation_error",
            errors={"header": [f"missing column(s): {', '.join(missing)}; found: {', '.join(header)}"]},
            status=422,
        )

    user = current_user()
    seen_scope = read_scope(user)
    write_scope = scope_of(user, WRITE_ROLES)
    types = _type_index()
    place_cache = {}
    good, rejected, seen_serials, seen_imeis = [], [], {}, {}
    rows = 0
    now = utcnow()

    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        rows += 1
        if rows > MAX_ROWS:
            raise AppError("validation_error", errors={"file": [f"at most {MAX_ROWS} rows per import"]}, status=422)
        values = {}
        for key, cell in zip(columns, record):
            if key:
                values[key] = cell.strip()
        errors = {}
        row = {"status": "active", "created_at": now, "updated_at": now}

        serial = values.get("serial", "")
        if not serial:
            errors["serial"] = ["required"]
        elif len(serial) > 64 or not all(c.isalnum() or c in "._:-" for c in serial) or len(serial) < 3:
            errors["serial"] = ["3-64 letters, digits or . _ : -"]
        elif serial in seen_serials:
            errors["serial"] = [f"repeats line {seen_serials[serial]}"]
        else:
            seen_serials[serial] = line
            row["serial"] = serial

        imei = values.get("imei") or None
        if imei:
            if not (imei.isdigit() and len(imei) == 15):
                errors["imei"] = ["15 digits"]
            elif imei in seen_imeis:
                errors["imei"] = [f"repeats line {seen_imeis[imei]}"]
            else:
                seen_imeis[imei] = line
        row["imei"] = imei

        type_code = types.get(values.get("type", "").lower())
        if not type_code:
            errors["type"] = [f"unknown device type {values.get('type', '')!r}"]
        row["type_code"] = type_code

        code = values.get("place", "")
        if code not in place_cache:
            place_cache[code] = Place.query.filter_by(code=code).one_or_none() if code else None
        place = place_cache[code]
        if place is None or not seen_scope.covers(place.path):
            errors["place"] = [f"no such place {code!r}"]
        elif place.kind not in ("site", "household"):
            errors["place"] = ["a device is placed in a site or a household"]
        elif not write_scope.covers(place.path):
            errors["place"] = ["you may not add devices here"]
        else:
            row["place_id"], row["place_path"] = place.id, place.path

        row["location_text"] = values.get("location_text") or None
        for key, lo, hi in (("lat", -90, 90), ("lng", -180, 180)):
            raw_value = values.get(key)
            if raw_value:
                try:
                    number = float(raw_value)
                    if not lo <= number <= hi:
                        raise ValueError
                    row[key] = number
                except ValueError:
                    errors[key] = [f"a number from {lo} to {hi}"]
            else:
                row[key] = None
        if (row.get("lat") is None) != (row.get("lng") is None) and "lat" not in errors and "lng" not in errors:
            errors["lat"] = ["lat and lng go together"]

        if values.get("installed_at"):
            try:
                row["installed_at"] = _parse_time(values["installed_at"])
            except ValueError as exc:
                errors["installed_at"] = [str(exc)]
        else:
            row["installed_at"] = None

        if values.get("status"):
            status = STATUS_ZH.get(values["status"], values["status"].lower())
            if status not in DEVICE_STATUSES:
                errors["status"] = [f"one of {', '.join(DEVICE_STATUSES)}"]
            row["status"] = status

        if errors:
            rejected.append({"line": line, "errors": errors})
        else:
            good.append((line, row))

    _reject_registered(good, rejected)
    rejected.sort(key=lambda r: r["line"])
    result = {"encoding": encoding, "rows": rows, "imported": 0, "rejected": rejected, "dry_run": dry_run}
    if rejected and not accept_partial:
        raise AppError(
            "import_rejected",
            message=(f"{len(rejected)} 行有误，未导入任何数据", f"{len(rejected)} row(s) are wrong; nothing was imported"),
            errors={"rows": rejected},
            status=422,
        )
    if good and not dry_run:
        db.session.execute(insert(Device), [row for _, row in good])
        db.session.commit()
    result["imported"] = 0 if dry_run else len(good)
    return result


def _reject_registered(good, rejected):
    """Move rows whose serial or IMEI is already registered to the rejects."""
    if not good:
        return
    serials = [row["serial"] for _, row in good]
    imeis = [row["imei"] for _, row in good if row["imei"]]
    taken_serials, taken_imeis = set(), set()
    for chunk_start in range(0, len(serials), 500):
        chunk = serials[chunk_start:chunk_start + 500]
        taken_serials.update(s for (s,) in db.session.query(Device.serial).filter(Device.serial.in_(chunk)))
    for chunk_start in range(0, len(imeis), 500):
        chunk = imeis[chunk_start:chunk_start + 500]
        taken_imeis.update(i for (i,) in db.session.query(Device.imei).filter(Device.imei.in_(chunk)))
    keep = []
    for line, row in good:
        errors = {}
        if row["serial"] in taken_serials:
            errors["serial"] = ["already registered"]
        if row["imei"] and row["imei"] in taken_imeis:
            errors["imei"] = ["already registered"]
        if errors:
            rejected.append({"line": line, "errors": errors})
        else:
            keep.append((line, row))
    good[:] = keep
