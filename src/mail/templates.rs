//! Message bodies: MiniJinja templates compiled into the binary (`templates/*.{txt,html}`), a
//! text and an HTML alternative per kind, in French by default or English. `.html` templates
//! escape what they print; `.txt` ones print it as is.

use std::sync::LazyLock;

use minijinja::Environment;
use crate::error::{AppError, AppResult};

/// The language a message is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locale {
    Fr,
    En,
}

impl Locale {
    /// The stored spelling (`outbox.locale`).
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }

    pub fn parse(text: &str) -> Locale {
        if text.eq_ignore_ascii_case("en") { Locale::En } else { Locale::Fr }
    }

    /// The language an `Accept-Language` header prefers among ours: English when `en` (or
    /// `en-XX`) ranks above French, French otherwise (also without the header).
    pub fn from_accept_language(header: Option<&str>) -> Locale {
        let Some(header) = header else { return Locale::Fr };
        let mut best: Option<(f32, Locale)> = None;
        for entry in header.split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let locale = match primary {
                "en" => Locale::En,
                "fr" => Locale::Fr,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, locale));
            }
        }
        best.map_or(Locale::Fr, |(_, locale)| locale)
    }
}

/// A rendered message: subject, text and HTML.
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    let sources: [(&str, &str); 20] = [
        ("password_reset.fr.txt", include_str!("templates/password_reset.fr.txt")),
        ("password_reset.en.txt", include_str!("templates/password_reset.en.txt")),
        ("password_reset.fr.html", include_str!("templates/password_reset.fr.html")),
        ("password_reset.en.html", include_str!("templates/password_reset.en.html")),
        ("document.fr.txt", include_str!("templates/document.fr.txt")),
        ("document.en.txt", include_str!("templates/document.en.txt")),
        ("document.fr.html", include_str!("templates/document.fr.html")),
        ("document.en.html", include_str!("templates/document.en.html")),
        ("alert.fr.txt", include_str!("templates/alert.fr.txt")),
        ("alert.en.txt", include_str!("templates/alert.en.txt")),
        ("alert.fr.html", include_str!("templates/alert.fr.html")),
        ("alert.en.html", include_str!("templates/alert.en.html")),
        ("report.fr.txt", include_str!("templates/report.fr.txt")),
        ("report.en.txt", include_str!("templates/report.en.txt")),
        ("report.fr.html", include_str!("templates/report.fr.html")),
        ("report.en.html", include_str!("templates/report.en.html")),
        ("declaration.fr.txt", include_str!("templates/declaration.fr.txt")),
        ("declaration.en.txt", include_str!("templates/declaration.en.txt")),
        ("declaration.fr.html", include_str!("templates/declaration.fr.html")),
        ("declaration.en.html", include_str!("templates/declaration.en.html")),
    ];
    for (name, source) in sources {
        env.add_template(name, source).expect("the mail templates compile");
    }
    env
});

fn render(name: &str, locale: Locale, subject: &str, context: minijinja::Value) -> AppResult<Rendered> {
    let render_one = |ext: &str| -> AppResult<String> {
        let template = TEMPLATES
            .get_template(&format!("{name}.{}.{ext}", locale.as_str()))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("mail template {name}: {e}")))?;
        template.render(&context).map_err(|e| AppError::Internal(anyhow::anyhow!("mail template {name}: {e}")))
    };
    Ok(Rendered { subject: subject.to_string(), text: render_one("txt")?, html: render_one("html")? })
}

/// The password-reset message: the code, and the link when `PUBLIC_BASE_URL` is set.
pub fn password_reset(locale: Locale, name: &str, code: &str, link: Option<&str>, minutes: i64) -> AppResult<Rendered> {
    let subject = match locale {
        Locale::Fr => "Réinitialisation de votre mot de passe MonAssurance",
        Locale::En => "Reset your MonAssurance password",
    };
    let context = minijinja::context! { subject, name, code, link, minutes };
    render("password_reset", locale, subject, context)
}

/// A document sent by a user: their words, then a footer naming the file and the sender.
pub fn document(locale: Locale, subject: &str, body: &str, file_name: &str, sender: &str) -> AppResult<Rendered> {
    let paragraphs: Vec<Vec<&str>> = body
        .split("\n\n")
        .map(|p| p.lines().collect::<Vec<_>>())
        .filter(|p| !p.is_empty())
        .collect();
    let context = minijinja::context! { subject, body, paragraphs, file_name, sender };
    render("document", locale, subject, context)
}

/// An alert: its sentence, the policy, the client and the date it is about.
pub fn alert(locale: Locale, message: &str, number: &str, client: &str, due: &str) -> AppResult<Rendered> {
    let subject = match locale {
        Locale::Fr => format!("Alerte MonAssurance : police {number}"),
        Locale::En => format!("MonAssurance alert: policy {number}"),
    };
    let context = minijinja::context! { subject, message, number, client, due };
    render("alert", locale, &subject, context)
}

/// A scheduled report, attached.
pub fn report(locale: Locale, name: &str, made: &str, file_name: &str) -> AppResult<Rendered> {
    let subject = match locale {
        Locale::Fr => format!("Rapport planifié : {name}"),
        Locale::En => format!("Scheduled report: {name}"),
    };
    let context = minijinja::context! { subject, name, made, file_name };
    render("report", locale, &subject, context)
}

/// What a bordereau mail says of its batch.
#[derive(Clone, Copy)]
pub struct DeclarationSummary<'a> {
    pub organization: &'a str,
    pub period_start: &'a str,
    pub period_end: &'a str,
    pub item_count: i32,
    pub total_premium: &'a str,
    pub total_commission: &'a str,
    pub currency: &'a str,
    pub file_name: &'a str,
}

/// A bordereau sent to an insurer, attached.
pub fn declaration(locale: Locale, batch: &DeclarationSummary<'_>) -> AppResult<Rendered> {
    let DeclarationSummary { organization, period_start, period_end, item_count, total_premium, total_commission, currency, file_name } = *batch;
    let subject = match locale {
        Locale::Fr => format!("Bordereau {organization} du {period_start} au {period_end}"),
        Locale::En => format!("Bordereau from {organization}, {period_start} to {period_end}"),
    };
    let context = minijinja::context! { subject, organization, period_start, period_end, item_count, total_premium, total_commission, currency, file_name };
    render("declaration", locale, &subject, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_english_only_when_it_ranks_first() {
        assert_eq!(Locale::from_accept_language(None), Locale::Fr);
        assert_eq!(Locale::from_accept_language(Some("en")), Locale::En);
        assert_eq!(Locale::from_accept_language(Some("en-GB,en;q=0.9")), Locale::En);
        assert_eq!(Locale::from_accept_language(Some("fr-CM,fr;q=0.9,en;q=0.8")), Locale::Fr);
        assert_eq!(Locale::from_accept_language(Some("de, en;q=0.5")), Locale::En);
        assert_eq!(Locale::from_accept_language(Some("fr;q=0.4, en;q=0.6")), Locale::En);
        assert_eq!(Locale::from_accept_language(Some("de")), Locale::Fr);
    }

    #[test]
    fn html_escapes_what_the_text_keeps() {
        let rendered = document(Locale::En, "Hi", "a <b> & c\nline two", "cert.pdf", "Ann").unwrap();
        assert!(rendered.text.starts_with("a <b> & c\nline two"), "{}", rendered.text);
        assert!(rendered.html.contains("a &lt;b&gt; &amp; c<br>line two"), "{}", rendered.html);
        let reset = password_reset(Locale::Fr, "Ann", "CODE123", None, 15).unwrap();
        assert!(reset.text.contains("Code : CODE123") && !reset.text.contains("http"), "{}", reset.text);
        let reset = password_reset(Locale::En, "Ann", "CODE123", Some("https://x.test/reset-password?token=CODE123"), 15).unwrap();
        let html = reset.html.replace("&#x2f;", "/");
        assert!(html.contains("href=\"https://x.test/reset-password?token=CODE123\""), "{html}");
    }
}
