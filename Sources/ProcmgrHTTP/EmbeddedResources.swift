/// The files SwiftPM embeds into the binary (`Package.swift`: `.embedInCode`), under names that
/// say what they are.
enum EmbeddedResources {
    /// `Resources/openapi.json`: the OpenAPI 3.1 document of the whole HTTP API.
    static var openAPIDocument: [UInt8] { PackageResources.openapi_json }
    /// `Resources/status.html`: the self-contained web status page served at `/`.
    static var statusPage: [UInt8] { PackageResources.status_html }
}
