import Hummingbird
import NIOCore

/// `GET /`: the embedded web status page (`Resources/status.html`), with headers that keep it
/// from being framed, sniffed or made to run anything but its own inline script.
///
/// The page has exactly one inline `<script>` and one inline `<style>`; the policy allows those
/// two by their SHA-256 (not `'unsafe-inline'`), so markup smuggled into the page could not run.
/// `StatusPageTests` recomputes both hashes from the embedded page: an edit to the page that
/// does not update them fails there (with the values to paste), and Chromium enforces them in
/// `scripts/browser-check.sh`.
enum StatusPage {
    static let scriptHash = "sha256-dN8Mm15Mr7iZkRY1C4mEskIVcZ/UUB1a7pK8y6AS5M4="
    static let styleHash = "sha256-G156jWC24lJqEZEKtMuDfJOGcD2R29it048c9UW2Y7w="

    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src '\(scriptHash)'; style-src '\(styleHash)'; "
            + "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }

    static func response() -> Response {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-cache",
            .contentSecurityPolicy: contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
        ]
        // HTTPTypes has no constants for these two (valid names, so the initializer succeeds;
        // `HTTPFields.Element` is HTTPTypes' `HTTPField`, which Hummingbird does not re-export).
        // X-Frame-Options: for browsers older than CSP's frame-ancestors.
        if let name = HTTPFields.Element.Name("X-Frame-Options") { headers[name] = "DENY" }
        if let name = HTTPFields.Element.Name("Referrer-Policy") { headers[name] = "no-referrer" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: EmbeddedResources.statusPage)))
    }
}
