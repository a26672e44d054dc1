import AttnCore
import Foundation
import FoundationXML
@testable import Notebook
import Testing

/// A PNG read back by this test's own decoder: the chunks with their CRC-32s, the stored deflate
/// blocks of the zlib stream with its Adler-32, the palette and the rows after their filter byte.
private struct DecodedPNG {
    var width = 0, height = 0
    var palette: [[UInt8]] = []
    var pixels: [UInt8] = []

    init(_ bytes: [UInt8]) throws {
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func u32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
        var at = 8, stream: [UInt8] = [], types: [String] = []
        while at < bytes.count {
            let length = u32(at)
            let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            let data = Array(bytes[(at + 8)..<(at + 8 + length)])
            #expect(UInt32(u32(at + 8 + length)) == PNGImage.crc32(Array(bytes[(at + 4)..<(at + 8 + length)])), "CRC of \(type)")
            types.append(type)
            switch type {
            case "IHDR":
                (width, height) = (Int(u32(at + 8)), Int(u32(at + 12)))
                #expect(Array(data[8...]) == [8, 3, 0, 0, 0])
            case "PLTE": palette = stride(from: 0, to: data.count, by: 3).map { Array(data[$0..<($0 + 3)]) }
            case "IDAT": stream += data
            default: break
            }
            at += 12 + length
        }
        #expect(types == ["IHDR", "PLTE", "IDAT", "IEND"])
        // zlib: header, stored blocks (BFINAL, LEN, NLEN, bytes), Adler-32.
        #expect(stream[0] == 0x78 && (Int(stream[0]) << 8 | Int(stream[1])) % 31 == 0)
        var raw: [UInt8] = [], p = 2, final = false
        while !final {
            final = stream[p] & 1 == 1
            #expect(stream[p] >> 1 == 0, "a stored block")
            let length = Int(stream[p + 1]) | Int(stream[p + 2]) << 8
            #expect(length ^ (Int(stream[p + 3]) | Int(stream[p + 4]) << 8) == 0xFFFF)
            raw += stream[(p + 5)..<(p + 5 + length)]
            p += 5 + length
        }
        #expect(p + 4 == stream.count)
        #expect(UInt32(stream[p]) << 24 | UInt32(stream[p + 1]) << 16 | UInt32(stream[p + 2]) << 8 | UInt32(stream[p + 3])
                == PNGImage.adler32(raw))
        #expect(raw.count == (width + 1) * height)
        for y in 0..<height {
            #expect(raw[y * (width + 1)] == 0, "filter type of row \(y)")
            pixels += raw[(y * (width + 1) + 1)..<((y + 1) * (width + 1))]
        }
    }
}

/// The PNG inside an SVG heatmap's `<image>`.
private func embeddedPNG(_ svg: String) throws -> DecodedPNG {
    let start = try #require(svg.range(of: "href=\"data:image/png;base64,"))
    let end = try #require(svg.range(of: "\"", range: start.upperBound..<svg.endIndex))
    let data = try #require(Data(base64Encoded: String(svg[start.upperBound..<end.lowerBound])))
    return try DecodedPNG(Array(data))
}

@Suite("plot of a long text: the grid as one palette PNG inside the SVG, every n-th token labelled")
struct LargeHeatmapTests {
    @Test("a 300-token MiniLM head: one pixel per cell, each the colour of its weight on the scale")
    func pixelPerCell() throws {
        let s = ScriptedSession()
        let sentence = (0..<298).map { ["the", "cat", "sat", "on", "a", "mat"][$0 % 6] }.joined(separator: " ")
        _ = s.run("sentence \(sentence)\nlayer 2\nhead 7")
        #expect(s.run("plot weights w.svg").contains("w.svg"))
        let svg = try String(contentsOfFile: s.directory + "/w.svg", encoding: .utf8)
        #expect(try XMLDocument(xmlString: svg).rootElement()?.name == "svg")
        #expect(svg.utf8.count < 1_000_000, "\(svg.utf8.count) bytes")
        #expect(!svg.contains("<rect class=\"cell\""))
        let png = try embeddedPNG(svg)
        #expect(png.width == 300 && png.height == 300)
        let weights = try #require(s.session.currentTrace).tokenByToken(layer: 2, head: 7).weights
        let range = MatrixRenderer.finiteRange(weights.values)
        for (i, j) in [(0, 0), (1, 0), (150, 0), (150, 151), (299, 299), (42, 17)] {
            let t = Double(weights[i, j] - range.lowerBound) / Double(range.upperBound - range.lowerBound)
            #expect(png.pixels[i * 300 + j] == UInt8((t * 254).rounded()), "[\(i), \(j)]")
        }
        #expect(png.palette.count == 256 && png.palette[255] == [0xd9, 0xd9, 0xd9] && png.palette[0] == [68, 1, 84])
        // Every n-th token labelled, with its position; the first and a later one.
        #expect(svg.contains(">0 [CLS]<title>query 0: [CLS]</title>"))
        #expect(!svg.contains("<title>query 1: "))
    }

    @Test("beyond 1024 a side, a pixel is the mean of a block of cells; a block all masked is grey")
    func blocks() throws {
        let n = 1500
        var values = [Float](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { values[i * n + j] = j > i ? -.infinity : Float((i + j) % 10) } }
        let matrix = Matrix(rows: n, columns: n, values: values)
        let labels = (0..<n).map { "t\($0)" }
        let svg = SVGHeatmap(matrix: matrix, rowLabels: labels, columnLabels: labels, title: "masked", subtitle: "test",
                             format: { String($0) }).render()
        #expect(svg.contains("one pixel per 2 × 2 cells, their mean"))
        let png = try embeddedPNG(svg)
        #expect(png.width == 750 && png.height == 750)
        // Pixel (y, x) covers rows 2y…2y+1 and columns 2x…2x+1.
        func expected(_ y: Int, _ x: Int) -> UInt8 {
            var cells: [Float] = []
            for i in (2 * y)..<(2 * y + 2) { for j in (2 * x)..<(2 * x + 2) where j <= i { cells.append(Float((i + j) % 10)) } }
            guard !cells.isEmpty else { return 255 }
            let mean = Double(cells.reduce(0, +)) / Double(cells.count)
            return UInt8((mean / 9 * 254).rounded())
        }
        for (y, x) in [(0, 0), (10, 3), (400, 399), (749, 0), (749, 749), (0, 1), (3, 700)] {
            #expect(png.pixels[y * 750 + x] == expected(y, x), "(\(y), \(x))")
        }
        #expect(svg.utf8.count < 1_500_000)
    }
}
