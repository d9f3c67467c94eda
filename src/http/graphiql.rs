//! The GraphiQL playground, served whole from the binary (no CDN), so it works with no internet
//! access. `assets/graphiql/` holds the vendored UMD bundles (GraphiQL 3.8.2, React 18,
//! graphql-ws 5; see its README and `fetch.sh`), the page and its bootstrap script `init.js`.

use std::{
    hash::{DefaultHasher, Hasher},
    sync::LazyLock,
};

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

macro_rules! asset {
    ($file:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/graphiql/", $file))
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// What `GET /graphiql/{file}` serves: file name, Content-Type, contents. Anything else is a 404.
static ASSETS: &[(&str, &str, &[u8])] = &[
    ("react.production.min.js", JS, asset!("react.production.min.js")),
    ("react-dom.production.min.js", JS, asset!("react-dom.production.min.js")),
    ("graphql-ws.min.js", JS, asset!("graphql-ws.min.js")),
    ("graphiql.min.js", JS, asset!("graphiql.min.js")),
    ("graphiql.min.css", CSS, asset!("graphiql.min.css")),
    ("init.js", JS, asset!("init.js")),
];

/// Scripts and styles from this server only; the inline styles React and GraphiQL set need
/// 'unsafe-inline' for styles (there is no inline script: the bootstrap is `init.js`). Fonts
/// and icons are `data:` URLs inside the stylesheet. The fetcher talks to `/graphql` over
/// HTTP and WebSocket.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    font-src 'self' data:; img-src 'self' data:; connect-src 'self' ws: wss:; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A digest of every asset, put in the asset URLs (`?v=`): assets are cached for a year, and a
/// binary with different files asks for different URLs.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = DefaultHasher::new();
    for (name, _, bytes) in ASSETS {
        hasher.write(name.as_bytes());
        hasher.write(bytes);
    }
    format!("{:016x}", hasher.finish())
});

static PAGE: LazyLock<String> = LazyLock::new(|| {
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/graphiql/index.html")).replace("{{v}}", &VERSION)
});

/// `GET /` (and `GET /graphql` asking for HTML): the GraphiQL page.
pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Html(PAGE.as_str()),
    )
}

/// `GET /graphiql/{file}`: one of the page's scripts or its stylesheet.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(file, _, _)| *file == name) {
        Some(&(_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_every_script_from_this_server_with_a_version() {
        assert!(PAGE.contains(r#"<meta charset="utf-8">"#));
        assert!(!PAGE.contains("{{v}}") && !PAGE.contains("//cdn") && !PAGE.contains("https:"));
        for (file, _, bytes) in ASSETS {
            assert!(!bytes.is_empty(), "{file} is empty");
            assert!(PAGE.contains(&format!("/graphiql/{file}?v={}", *VERSION)), "the page does not load {file}");
        }
    }
}
