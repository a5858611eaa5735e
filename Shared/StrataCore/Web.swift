import Foundation

/// A request to a service's web pages (the shell's web server hands over what it does not
/// serve itself), and the answer: kept free of the HTTP library so services need not import it.
public struct WebRequest: Sendable {
    public var path: String
    public var query: [String: String]

    public init(path: String, query: [String: String]) {
        self.path = path
        self.query = query
    }
}

public struct WebResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int = 200, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func html(_ text: String, status: Int = 200) -> WebResponse {
        WebResponse(status: status, contentType: "text/html; charset=utf-8", body: Array(text.utf8))
    }

    public static func text(_ text: String, status: Int = 200) -> WebResponse {
        WebResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }

    /// `value` as JSON (keys sorted, so answers are stable).
    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> WebResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? encoder.encode(value) else { return .text("cannot encode the answer", status: 500) }
        return WebResponse(status: status, contentType: "application/json", body: [UInt8](data))
    }
}

public typealias WebHandler = @Sendable (WebRequest) async -> WebResponse?

/// Small HTML building blocks for the web UI: every page has the same frame (title, a banner
/// with the process's role, navigation) and plain tables; text is always escaped.
public enum HTML {
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// A query-string value, percent-encoded.
    public static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-._~"))) ?? text
    }

    /// A table; `rows` hold HTML already escaped (use `escape` on text).
    public static func table(_ headers: [String], _ rows: [[String]]) -> String {
        var html = "<table><thead><tr>" + headers.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows { html += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>" }
        if rows.isEmpty { html += "<tr><td colspan=\"\(headers.count)\"><em>none</em></td></tr>" }
        return html + "</tbody></table>"
    }

    /// Label/value pairs as a two-column table; values are HTML already escaped.
    public static func facts(_ pairs: [(String, String)]) -> String {
        "<table class=\"facts\"><tbody>" + pairs.map { "<tr><th>\(escape($0.0))</th><td>\($0.1)</td></tr>" }.joined() + "</tbody></table>"
    }

    /// A whole page. `banner` is HTML (the role line); `navigation` is (title, href).
    public static func page(title: String, product: String, banner: String, navigation: [(String, String)], current: String, body: String) -> String {
        let links = navigation.map { name, href in
            "<a href=\"\(escape(href))\"\(href == current ? " class=\"current\"" : "")>\(escape(name))</a>"
        }.joined(separator: " ")
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) · \(escape(product))</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 0; color: #1d2733; }
        header { background: #1d3557; color: white; padding: 12px 24px; }
        header h1 { margin: 0; font-size: 20px; } header .banner { margin-top: 4px; font-size: 14px; }
        header a { color: #a8dadc; }
        nav { background: #e9eef4; padding: 8px 24px; } nav a { margin-right: 16px; color: #1d3557; text-decoration: none; }
        nav a.current { font-weight: bold; border-bottom: 2px solid #1d3557; }
        main { padding: 16px 24px; } h2 { font-size: 18px; margin-top: 24px; }
        table { border-collapse: collapse; margin: 8px 0; } th, td { text-align: left; padding: 4px 12px; border-bottom: 1px solid #dde3ea; }
        table.facts th { color: #52606d; font-weight: normal; }
        .LEADER { color: #2b7a0b; font-weight: bold; } .STANDBY { color: #b26a00; font-weight: bold; }
        .LOST, .UNAVAILABLE { color: #b00020; font-weight: bold; } .LIVE, .AVAILABLE { color: #2b7a0b; }
        </style></head>
        <body><header><h1>\(escape(product))</h1><div class="banner">\(banner)</div></header>
        <nav>\(links)</nav>
        <main><h2>\(escape(title))</h2>
        \(body)
        </main></body></html>
        """
    }

    /// The Configuration page body: every property with its value and where it came from.
    public static func configuration(_ configuration: Configuration) -> String {
        table(["Property", "Value", "Source"], PropertyKey.registry.map { key in
            let entry = configuration.entry(key)
            return [escape(key.name), escape(entry?.text ?? ""), escape(entry?.source.description ?? "UNSET")]
        })
    }

    /// The Metrics page body: the Prometheus text exposition as a table of samples.
    public static func metrics(_ exposition: String) -> String {
        let samples = exposition.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map { line -> [String] in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            return [escape(parts[0]), escape(parts.count > 1 ? parts[1] : "")]
        }
        return "<p>Prometheus text: <a href=\"/metrics\">/metrics</a></p>" + table(["Metric", "Value"], samples)
    }
}

extension ByteSize {
    /// A percentage of `part` in `whole` ("0%" for an empty whole).
    public static func percent(_ part: Int64, of whole: Int64) -> String {
        whole > 0 ? "\(part * 100 / whole)%" : "0%"
    }
}
