#!/usr/bin/env bash
# make check-html (not part of make test): the HTML notebook as a browser draws it.
#
# Builds attn, replays a lesson and a script with plots to HTML (attn replay --html), checks that
# each page is well-formed XML whose heatmaps have the sizes and cells their matrices call for,
# renders each page with headless Chromium (installed with apt-get when missing) and checks the
# screenshot: not blank, the heatmaps drawn in viridis, the shaded text in the terminal's greys.
# The pages and screenshots stay in .build/check-html (or $CHECK_HTML_DIR) to look at.
set -euo pipefail
cd "$(dirname "$0")/.."
repository=$(pwd)
out=$(mkdir -p "${CHECK_HTML_DIR:-.build/check-html}" && cd "${CHECK_HTML_DIR:-.build/check-html}" && pwd)
sudo=$([ "$(id -u)" = 0 ] || echo sudo)

swift build --product attn
attn="$repository/.build/debug/attn"

if ! command -v chromium >/dev/null 2>&1; then
  echo "check-html: installing chromium with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi

# 1. A lesson and a script with plots, replayed to pages; standard output is the usual replay.
rm -f "$out"/*.html "$out"/*.png "$out"/*.svg
"$attn" replay --no-color Lessons/05-why-scale.md --html "$out/lesson.html" > "$out/lesson.txt"
cat > "$out/plots.attn" <<'SCRIPT'
# # Where does cat look?
# Head 7 of layer 2, **shaded** as a colour terminal shades it, then drawn with `plot`:
# - weights = softmax(masked)
# - the rollout over every layer
sentence the cat sat <on> the "mat" & 猫
layer 2
head 7
weights
plot weights w.svg
plot rollout r.svg
SCRIPT
(cd "$out" && "$attn" replay --no-color plots.attn --html plots.html > plots.txt)

# 2. The pages as files: well-formed, and each heatmap as large as its matrix.
python3 - "$out/lesson.html" 4 "$out/plots.html" 3 <<'PYTHON'
import re, sys, xml.etree.ElementTree as ET
SVG = "{http://www.w3.org/2000/svg}"
args = sys.argv[1:]
for path, expected in zip(args[::2], map(int, args[1::2])):
    root = ET.parse(path).getroot()  # raises unless the page is well-formed XML
    for bad in ("script", "link", "img", "iframe"):
        assert not list(root.iter("{http://www.w3.org/1999/xhtml}" + bad)), f"{path}: a <{bad}> element"
    svgs = list(root.iter(SVG + "svg"))
    assert len(svgs) == expected, f"{path}: {len(svgs)} heatmaps, expected {expected}"
    for svg in svgs:
        title = svg.find(SVG + "title").text
        rows, columns = map(int, re.search(r"\[(\d+) × (\d+)\]$", title).groups())
        cell = min(40.0, max(10.0, float(640 // max(rows, columns))))
        cells = [r for r in svg.iter(SVG + "rect") if r.get("class") == "cell"]
        assert len(cells) == rows * columns, f"{path}: {title}: {len(cells)} cells for {rows} × {columns}"
        assert {(float(r.get("width")), float(r.get("height"))) for r in cells} == {(cell, cell)}, f"{path}: {title}: cells not {cell} px"
        width, height = float(svg.get("width")), float(svg.get("height"))
        right = max(float(r.get("x")) for r in cells) + cell
        bottom = max(float(r.get("y")) for r in cells) + cell
        assert width >= right + 16 and height >= bottom and svg.get("viewBox") == f"0 0 {svg.get('width')} {svg.get('height')}", \
            f"{path}: {title}: {width} × {height} does not hold its {right} × {bottom} grid"
    print(f"check-html: {path}: well-formed, {len(svgs)} heatmaps of the expected sizes")
PYTHON

# 3. The pages as Chromium draws them.
for page in lesson plots; do
  timeout 180 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$out/chromium-profile" --screenshot="$out/$page.png" --window-size=1200,3000 \
    "file://$out/$page.html" > "$out/chromium-$page.log" 2>&1 || { cat "$out/chromium-$page.log"; exit 1; }
done
python3 - "$out/lesson.png" "$out/plots.png" <<'PYTHON'
import struct, sys, zlib

def pixels(path):
    """The RGB pixels of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, f"{path}: an unexpected PNG format"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    step = 4 if colour == 6 else 3
    raw, stride = zlib.decompress(idat), width * step
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - step] if i >= step else 0
            b, c = previous[i], previous[i - step] if i >= step else 0
            if kind == 1: line[i] = (line[i] + a) & 255
            elif kind == 2: line[i] = (line[i] + b) & 255
            elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        previous = line
    return width, height, [tuple(row[x:x + 3]) for row in rows for x in range(0, stride, step)]

# Viridis as the heatmaps draw it: matplotlib's colours at nine points, interpolated.
STOPS = [(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
         (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)]
VIRIDIS = [tuple(a + (b - a) * k / 16 for a, b in zip(STOPS[s], STOPS[s + 1])) for s in range(8) for k in range(17)]

def viridis(p):
    """A heatmap's colour: near the viridis curve, and not a grey."""
    return max(p) - min(p) >= 30 and min(sum(abs(a - b) for a, b in zip(p, v)) for v in VIRIDIS) <= 12

for path in sys.argv[1:]:
    width, height, image = pixels(path)
    counts = {}
    for p in image:
        counts[p] = counts.get(p, 0) + 1
    background = max(counts, key=counts.get)
    heat = sum(n for p, n in counts.items() if viridis(p))
    # The terminal's grey ramp, 234 (#1c1c1c) to 253 (#e4e4e4), behind the matrices' numbers.
    greys = {8 + 10 * (level - 232) for level in range(234, 254)}
    shaded = sum(n for p, n in counts.items() if p[0] == p[1] == p[2] and p[0] in greys)
    darkest = counts.get((28, 28, 28), 0)
    print(f"check-html: {path}: {width} × {height}, {len(counts)} colours, background {background}, "
          f"{heat} heatmap pixels (about {heat // 1521} cells of 40 px), {shaded} pixels of shaded cells, {darkest} of the darkest shade")
    assert background == (255, 255, 255), f"{path}: the page is not on white"
    assert len(counts) >= 50, f"{path}: {len(counts)} colours: the page looks blank"
    assert counts[background] < 0.97 * len(image), f"{path}: almost nothing is drawn"
    assert heat >= 2 * 64 * 1200, f"{path}: fewer than two 8 × 8 heatmaps are drawn"
    assert darkest >= 200 and shaded >= 20 * 300, f"{path}: the matrices' text is not shaded"
PYTHON
echo "check-html: passed; the pages and their screenshots are in $out"
