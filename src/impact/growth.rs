//! How a step's time and its locks grow with rows: a least-squares line through the measured
//! points on log–log axes (time = c · rows^k), and what it predicts at a production size.

/// Times under this are too small to fit: the noise of a sample is as large as the time.
const SMALLEST_FITTED: f64 = 0.005;
/// Below this R², the points do not lie on a power law and a prediction would mislead.
const POOR_FIT: f64 = 0.9;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// k in c · rows^k: 1 for a linear scan or rewrite, about 1.1 for a sort.
    pub exponent: f64,
    coefficient: f64,
    /// How well the points lie on the line, 0 to 1.
    pub r_squared: f64,
}

/// Why there is no prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoFit {
    /// Fewer than two sizes.
    TooFewPoints,
    /// A time under 5 ms: as much noise as signal.
    TooSmall,
}

impl Fit {
    /// Fits `(rows, seconds)` points, each at a different size.
    pub fn of(points: &[(u64, f64)]) -> Result<Fit, NoFit> {
        if points.len() < 2 {
            return Err(NoFit::TooFewPoints);
        }
        if points.iter().any(|(_, seconds)| *seconds < SMALLEST_FITTED) {
            return Err(NoFit::TooSmall);
        }
        let logs: Vec<(f64, f64)> = points
            .iter()
            .map(|(rows, seconds)| ((*rows as f64).ln(), seconds.ln()))
            .collect();
        let n = logs.len() as f64;
        let mean_x = logs.iter().map(|(x, _)| x).sum::<f64>() / n;
        let mean_y = logs.iter().map(|(_, y)| y).sum::<f64>() / n;
        let sxx: f64 = logs.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
        let sxy: f64 = logs.iter().map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
        let syy: f64 = logs.iter().map(|(_, y)| (y - mean_y).powi(2)).sum();
        if sxx == 0.0 {
            return Err(NoFit::TooFewPoints);
        }
        let exponent = sxy / sxx;
        let intercept = mean_y - exponent * mean_x;
        let r_squared = if syy == 0.0 {
            1.0
        } else {
            (sxy * sxy) / (sxx * syy)
        };
        Ok(Fit {
            exponent,
            coefficient: intercept.exp(),
            r_squared,
        })
    }

    /// Seconds at `rows`.
    pub fn predict(&self, rows: u64) -> f64 {
        self.coefficient * (rows as f64).powf(self.exponent)
    }

    pub fn is_poor(&self) -> bool {
        self.r_squared < POOR_FIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_time_fits_exponent_one_and_predicts_on_the_line() {
        let fit = Fit::of(&[(10_000, 0.02), (100_000, 0.2), (1_000_000, 2.0)]).unwrap();
        assert!((fit.exponent - 1.0).abs() < 1e-9, "{fit:?}");
        assert!((fit.r_squared - 1.0).abs() < 1e-9);
        assert!((fit.predict(50_000_000) - 100.0).abs() < 1e-6);
        let quadratic = Fit::of(&[(1_000, 0.01), (10_000, 1.0)]).unwrap();
        assert!((quadratic.exponent - 2.0).abs() < 1e-9);
    }

    #[test]
    fn too_few_or_too_small_points_give_no_fit() {
        assert_eq!(Fit::of(&[(1_000, 1.0)]), Err(NoFit::TooFewPoints));
        assert_eq!(
            Fit::of(&[(1_000, 0.001), (10_000, 0.01)]),
            Err(NoFit::TooSmall)
        );
        let scattered = Fit::of(&[(1_000, 1.0), (10_000, 0.2), (100_000, 3.0)]).unwrap();
        assert!(scattered.is_poor(), "{scattered:?}");
    }
}
