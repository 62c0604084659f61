//! PostgreSQL's binary NUMERIC, which postgres-types does not implement: base-10000 digits with
//! a weight, a sign and a display scale.

/// Appends the binary form of `unscaled / 10^scale` (without the field length).
pub fn encode_numeric(unscaled: i128, scale: u16, out: &mut Vec<u8>) {
    let scale = scale as usize;
    let decimal = unscaled.unsigned_abs().to_string();
    let (integer, fraction) = if decimal.len() > scale {
        decimal.split_at(decimal.len() - scale)
    } else {
        ("", decimal.as_str())
    };
    let fraction = format!("{fraction:0>scale$}");
    let integer_width = integer.len().div_ceil(4) * 4;
    let integer = format!("{integer:0>integer_width$}");
    let fraction_width = fraction.len().div_ceil(4) * 4;
    let fraction = format!("{fraction:0<fraction_width$}");

    let mut groups: Vec<i16> = integer
        .as_bytes()
        .chunks(4)
        .chain(fraction.as_bytes().chunks(4))
        .map(|chunk| {
            std::str::from_utf8(chunk)
                .expect("ascii digits")
                .parse()
                .expect("four digits")
        })
        .collect();
    let mut weight = (integer_width / 4) as i16 - 1;
    let leading_zeros = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..leading_zeros);
    weight -= leading_zeros as i16;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    let sign: u16 = if unscaled < 0 && !groups.is_empty() {
        0x4000
    } else {
        0
    };
    if groups.is_empty() {
        weight = 0;
    }
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as u16).to_be_bytes());
    for group in groups {
        out.extend_from_slice(&group.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::encode_numeric;

    fn encoded(unscaled: i128, scale: u16) -> Vec<i16> {
        let mut out = Vec::new();
        encode_numeric(unscaled, scale, &mut out);
        out.chunks(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn writes_base_10000_groups_with_weight_sign_and_scale() {
        // [ndigits, weight, sign, dscale, digits...]
        assert_eq!(encoded(1250, 2), [2, 0, 0, 2, 12, 5000]); // 12.50
        assert_eq!(encoded(5, 2), [1, -1, 0, 2, 500]); // 0.05
        assert_eq!(encoded(-123456789, 0), [3, 2, 0x4000, 0, 1, 2345, 6789]);
        assert_eq!(encoded(100000000, 4), [1, 1, 0, 4, 1]); // 10000.0000
        assert_eq!(encoded(0, 2), [0, 0, 0, 2]);
    }
}
