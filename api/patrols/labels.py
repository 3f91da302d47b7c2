"""Printable label sheets: one signed QR per checkpoint with its name and site, on A4.

The QR comes from segno; both sheets draw its module matrix themselves (an SVG path,
PDF rectangles) so a sheet is one self-contained file. The PDF names the printer's
built-in Chinese font (STSong-Light, Adobe-GB1) rather than embedding one, as
reportlab does for CJK text: every PDF reader ships it.
"""

from dataclasses import dataclass
from xml.sax.saxutils import escape

import segno

from api.patrols.codes import scan_url, sign

PAGE_W, PAGE_H = 210.0, 297.0  # mm
MARGIN = 10.0
COLS, ROWS = 3, 4
CELL_W = (PAGE_W - 2 * MARGIN) / COLS
CELL_H = (PAGE_H - 2 * MARGIN) / ROWS
QR_MM = 44.0
QUIET = 4  # modules of white border
PT = 72 / 25.4


@dataclass
class Label:
    checkpoint_id: int
    name: str
    site: str
    code: str
    url: str
    matrix: list  # rows of 0/1


def qr_for(url):
    return segno.make(url, error="m", micro=False)


def labels_for(plan):
    out = []
    for cp in plan.checkpoints:
        if not cp.active:
            continue
        url = scan_url(cp.id)
        site = _site_name(plan, cp)
        matrix = [[1 if v else 0 for v in row] for row in qr_for(url).matrix]
        out.append(Label(cp.id, cp.name, site, sign(cp.id), url, matrix))
    return out


def _site_name(plan, cp):
    from api.extensions import db
    from api.places.models import Place

    if cp.site_id:
        site = db.session.get(Place, cp.site_id)
        if site is not None:
            return site.name
    return plan.place.name if plan.place else ""


def _runs(row):
    """(start, length) of each run of dark modules in a row."""
    x, n = 0, len(row)
    while x < n:
        if row[x]:
            start = x
            while x < n and row[x]:
                x += 1
            yield start, x - start
        else:
            x += 1


def _slots(labels):
    per_page = COLS * ROWS
    for i, label in enumerate(labels):
        page, slot = divmod(i, per_page)
        row, col = divmod(slot, COLS)
        yield page, MARGIN + col * CELL_W, MARGIN + row * CELL_H, label


# --- SVG ---------------------------------------------------------------------------

def sheet_svg(plan, labels):
    pages = max(1, -(-len(labels) // (COLS * ROWS)))
    height = PAGE_H * pages
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W:g}mm" height="{height:g}mm" '
        f'viewBox="0 0 {PAGE_W:g} {height:g}" font-family="Noto Sans CJK SC, Source Han Sans SC, sans-serif">',
        f"<title>{escape(plan.name)}</title>",
        f'<rect width="{PAGE_W:g}" height="{height:g}" fill="#fff"/>',
    ]
    for page, x, y, label in _slots(labels):
        y += page * PAGE_H
        n = len(label.matrix) + 2 * QUIET
        scale = QR_MM / n
        qx, qy = x + (CELL_W - QR_MM) / 2, y + 3
        d = "".join(f"M{sx + QUIET} {sy + QUIET}h{run}v1h-{run}z"
                    for sy, row in enumerate(label.matrix) for sx, run in _runs(row))
        cx = x + CELL_W / 2
        parts += [
            f'<g class="label" data-checkpoint="{label.checkpoint_id}" data-code="{escape(label.code)}">',
            f'<rect x="{x + 1:.2f}" y="{y + 1:.2f}" width="{CELL_W - 2:.2f}" height="{CELL_H - 2:.2f}" '
            f'fill="none" stroke="#999" stroke-width="0.2" stroke-dasharray="1 1"/>',
            f'<g class="qr" transform="translate({qx:.3f} {qy:.3f}) scale({scale:.5f})">'
            f'<rect width="{n}" height="{n}" fill="#fff"/><path fill="#000" d="{d}"/></g>',
            f'<text x="{cx:.2f}" y="{qy + QR_MM + 6:.2f}" font-size="4.6" text-anchor="middle" '
            f'font-weight="bold">{escape(label.name)}</text>',
            f'<text x="{cx:.2f}" y="{qy + QR_MM + 11.5:.2f}" font-size="3.4" text-anchor="middle">'
            f"{escape(label.site)}</text>",
            f'<text x="{cx:.2f}" y="{qy + QR_MM + 16:.2f}" font-size="2.6" text-anchor="middle" '
            f'fill="#555">{escape(label.code)}</text>',
            "</g>",
        ]
    parts.append("</svg>")
    return "\n".join(parts).encode()


# --- PDF ---------------------------------------------------------------------------

# STSong-Light's widths for CIDs 1-95 (U+0020-U+007E), per 1000 units, as reportlab lists them.
LATIN_WIDTHS = [207, 270, 342, 467, 462, 797, 710, 239, 374, 374, 423, 605, 238, 375, 238, 334, 462, 462, 462, 462,
                462, 462, 462, 462, 462, 462, 238, 238, 605, 605, 605, 344, 748, 684, 560, 695, 739, 563, 511, 729,
                793, 318, 312, 666, 526, 896, 758, 772, 544, 772, 628, 465, 607, 753, 711, 972, 647, 620, 607, 374,
                333, 374, 606, 500, 239, 417, 503, 427, 529, 415, 264, 444, 518, 241, 230, 495, 228, 793, 527, 524,
                524, 504, 338, 336, 277, 517, 450, 652, 466, 452, 407, 370, 258, 370, 605]


def _pdf_text(text):
    return "<" + text.encode("utf-16-be").hex().upper() + ">"


def _text_width(text, size_pt):
    return sum(LATIN_WIDTHS[ord(ch) - 32] / 1000 if 32 <= ord(ch) < 127 else 1.0 for ch in text) * size_pt


def _centered(text, cx_mm, y_mm, size_pt):
    x = cx_mm * PT - _text_width(text, size_pt) / 2
    y = (PAGE_H - y_mm) * PT
    return f"BT /F1 {size_pt:g} Tf {x:.2f} {y:.2f} Td {_pdf_text(text)} Tj ET"


def _page_stream(items):
    ops = []
    for x, y, label in items:
        n = len(label.matrix) + 2 * QUIET
        s = QR_MM / n * PT
        qx, qy = (x + (CELL_W - QR_MM) / 2) * PT, (PAGE_H - y - 3) * PT
        ops.append("0.6 G 0.3 w [2 2] 0 d "
                   f"{(x + 1) * PT:.2f} {(PAGE_H - y - CELL_H + 1) * PT:.2f} {(CELL_W - 2) * PT:.2f} "
                   f"{(CELL_H - 2) * PT:.2f} re S [] 0 d")
        # Module units, y down from the QR's top-left corner: the matrix drawn as it reads.
        ops.append(f"% qr {label.checkpoint_id} {label.code}")
        ops.append(f"q {s:.5f} 0 0 {-s:.5f} {qx:.3f} {qy:.3f} cm 0 g")
        for sy, row in enumerate(label.matrix):
            for sx, run in _runs(row):
                ops.append(f"{sx + QUIET} {sy + QUIET} {run} 1 re")
        ops.append("f Q")
        ops.append("% end qr")
        cx = x + CELL_W / 2
        ops.append("0 g")
        ops.append(_centered(label.name, cx, y + 3 + QR_MM + 6, 13))
        ops.append(_centered(label.site, cx, y + 3 + QR_MM + 11.5, 9.5))
        ops.append("0.33 g " + _centered(label.code, cx, y + 3 + QR_MM + 16, 7))
    return "\n".join(ops).encode("ascii")


def sheet_pdf(plan, labels):
    pages = {}
    for page, x, y, label in _slots(labels):
        pages.setdefault(page, []).append((x, y, label))
    if not pages:
        pages[0] = []
    objects = {}  # number -> bytes
    font, cid_font, descriptor = 3, 4, 5
    objects[font] = (b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UTF16-H "
                     b"/DescendantFonts [4 0 R] >>")
    objects[cid_font] = (b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
                         b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> "
                         b"/FontDescriptor 5 0 R /DW 1000 /W [1 [" + " ".join(map(str, LATIN_WIDTHS)).encode() + b"]] >>")
    objects[descriptor] = (b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
                           b"/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 752 /Descent -271 "
                           b"/CapHeight 737 /StemV 58 >>")
    kids = []
    number = 6
    for page in sorted(pages):
        stream = _page_stream(pages[page])
        page_obj, content = number, number + 1
        number += 2
        kids.append(page_obj)
        objects[page_obj] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W * PT:.2f} {PAGE_H * PT:.2f}] "
                             f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content} 0 R >>").encode()
        objects[content] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = (f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>").encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        out += b"%010d 00000 n \n" % offsets[num]
    title = ("<FEFF" + plan.name.encode("utf-16-be").hex().upper() + ">").encode()  # a text string: BOM
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info << /Title %s >> >>\nstartxref\n%d\n%%%%EOF\n" % (
        size, title, xref)
    return bytes(out)

