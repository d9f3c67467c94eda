//! Portable text search: case-insensitive `LIKE` with escaped user input, on SQLite and PostgreSQL.

use sea_orm::{
    ColumnTrait,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr},
};

/// `%text%` with `%`, `_` and `\` escaped, lower-cased.
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `LOWER(col) LIKE pattern ESCAPE '\'`.
pub fn ilike(col: impl ColumnTrait, pattern: &str) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern).escape('\\'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn wildcards_in_user_text_are_escaped() {
        assert_eq!(super::like_pattern("50%_A\\"), "%50\\%\\_a\\\\%");
    }
}
