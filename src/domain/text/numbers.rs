//! Numbers as messages write them: either decimal mark, and the words that scale them.

/// Words after a number that multiply it.
pub(crate) const MULTIPLIERS: &[(&str, f64)] = &[
    ("k", 1e3),
    ("thousand", 1e3),
    ("אלף", 1e3),
    ("million", 1e6),
    ("מיליון", 1e6),
];

/// Reads "1,200.50", "1.200,50", "12,5" and "1200"; `None` for shapes that are not numbers.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let groups_of_three = |sep: char| s.split(sep).skip(1).all(|g| g.len() == 3);
    let commas = s.matches(',').count();
    let dots = s.matches('.').count();
    let cleaned = match (commas, dots) {
        (0, 0) => s.to_owned(),
        (_, 0) if groups_of_three(',') => s.replace(',', ""),
        (1, 0) => s.replace(',', "."),
        (0, 1) => s.to_owned(),
        (0, _) if groups_of_three('.') => s.replace('.', ""),
        (_, _) if commas > 0 && dots > 0 => {
            let last_comma = s.rfind(',')?;
            let last_dot = s.rfind('.')?;
            if last_dot > last_comma && dots == 1 {
                s.replace(',', "")
            } else if last_comma > last_dot && commas == 1 {
                s.replace('.', "").replace(',', ".")
            } else {
                return None;
            }
        }
        _ => return None,
    };
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}
