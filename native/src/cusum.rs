//! The hot loop of `SelfStartingCusum.update_many` (`watchkeeper/detectors/change/
//! rank_cusum.py`): the values of a stratum whose reference is binned, ranked in their bins,
//! scored and added to the CUSUM with the arithmetic of `update`, operation for operation.
//!
//! Python keeps the state and stays the reference. `cusum_steps` takes the CUSUM's and the
//! stratum's numbers and the bins' lists, processes values while they need nothing rare, and
//! says how far it got; it stops before a value of another stratum, one that needs a
//! recalibration (`_calibrate`), one that is not a plain float or int, or one it cannot rank
//! the way Python would, and Python runs `update` for it (the exact phase and binning never
//! get here). The results are the same doubles: Rust never contracts `a * b + c` into an FMA,
//! `exp` and `ln` are the process's libm (the functions `math.exp` and CPython's
//! `_statistics` call), the normal quantile is a port of CPython's C function, and ties are
//! broken by calling the `random` method of the CUSUM's own generator.
//! `tests/detectors/test_cusum_core.py` holds both paths to the same outputs and pickles.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList};

/// `_U_MIN` and `_U_MAX` of rank_cusum.py: normal scores are clipped there.
const U_MIN: f64 = 1e-9;
const U_MAX: f64 = 1.0 - U_MIN;
/// Counts up to here divide like Python ints (both exact as doubles, one rounding).
const MAX_EXACT: i64 = 1 << 53;

/// `_normal_dist_inv_cdf(p, 0.0, 1.0)` of CPython's `Modules/_statisticsmodule.c`
/// (Wichura's AS241), with its operations in its order so that the doubles are the same.
// The constants as CPython writes them (they parse to the same doubles).
#[allow(clippy::excessive_precision)]
pub fn normal_quantile(p: f64) -> f64 {
    let q = p - 0.5;
    let x = if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        let num = (((((((2.5090809287301226727e+3 * r + 3.3430575583588128105e+4) * r
            + 6.7265770927008700853e+4)
            * r
            + 4.5921953931549871457e+4)
            * r
            + 1.3731693765509461125e+4)
            * r
            + 1.9715909503065514427e+3)
            * r
            + 1.3314166789178437745e+2)
            * r
            + 3.3871328727963666080e+0)
            * q;
        let den = ((((((5.2264952788528545610e+3 * r + 2.8729085735721942674e+4) * r
            + 3.9307895800092710610e+4)
            * r
            + 2.1213794301586595867e+4)
            * r
            + 5.3941960214247511077e+3)
            * r
            + 6.8718700749205790830e+2)
            * r
            + 4.2313330701600911252e+1)
            * r
            + 1.0;
        num / den
    } else {
        let r = if q <= 0.0 { p } else { 1.0 - p };
        let r = (-r.ln()).sqrt();
        let (num, den) = if r <= 5.0 {
            let r = r - 1.6;
            (
                (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r
                    + 2.41780725177450611770e-1)
                    * r
                    + 1.27045825245236838258e+0)
                    * r
                    + 3.64784832476320460504e+0)
                    * r
                    + 5.76949722146069140550e+0)
                    * r
                    + 4.63033784615654529590e+0)
                    * r
                    + 1.42343711074968357734e+0),
                (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r
                    + 1.51986665636164571966e-2)
                    * r
                    + 1.48103976427480074590e-1)
                    * r
                    + 6.89767334985100004550e-1)
                    * r
                    + 1.67638483018380384940e+0)
                    * r
                    + 2.05319162663775882187e+0)
                    * r
                    + 1.0),
            )
        } else {
            let r = r - 5.0;
            (
                (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
                    + 1.24266094738807843860e-3)
                    * r
                    + 2.65321895265761230930e-2)
                    * r
                    + 2.96560571828504891230e-1)
                    * r
                    + 1.78482653991729133580e+0)
                    * r
                    + 5.46378491116411436990e+0)
                    * r
                    + 6.65790464350110377720e+0),
                (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r
                    + 1.84631831751005468180e-5)
                    * r
                    + 7.86869131145613259100e-4)
                    * r
                    + 1.48753612908506148525e-2)
                    * r
                    + 1.36929880922735805310e-1)
                    * r
                    + 5.99832206555887937690e-1)
                    * r
                    + 1.0),
            )
        };
        let x = num / den;
        if q < 0.0 { -x } else { x }
    };
    // `mu + x * sigma` with mu = 0 and sigma = 1: the product is exact, the sum is not a
    // no-op (it turns -0.0 into 0.0), so it stays.
    0.0 + x
}

/// The clipping of `update`: a NaN goes to the top, like Python's chained comparison.
fn clipped(u: f64) -> f64 {
    if !(U_MIN < u && u < U_MAX) {
        if u <= U_MIN { U_MIN } else { U_MAX }
    } else {
        u
    }
}

/// `_mid_score`: the normal score at the middle of the cell `[low, high]`.
fn mid_score(low: f64, high: f64) -> f64 {
    normal_quantile(clipped(0.5 * (low + high)))
}

/// `_expected_score`: `E[Phi^-1(U)]` for `U` uniform on the cell `[low, high]`.
fn expected_score(low: f64, high: f64) -> f64 {
    // Python's `1.0 / math.sqrt(2.0 * math.pi)`: both operations correctly rounded.
    let inv_sqrt_2pi = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    let density_low = if low > 0.0 {
        let q = normal_quantile(low);
        (-0.5 * q * q).exp()
    } else {
        0.0
    };
    let density_high = if high < 1.0 {
        let q = normal_quantile(high);
        (-0.5 * q * q).exp()
    } else {
        0.0
    };
    (density_low - density_high) * inv_sqrt_2pi / (high - low)
}

/// A binned `SequentialRanks`: `_edges`, `_before`, `_at`, `_counts` and `_total`.
struct Bins {
    edges: Vec<f64>,
    before: Vec<usize>,
    at: Vec<usize>,
    counts: Vec<i64>,
    changed: Vec<bool>,
    total: i64,
}

impl Bins {
    /// The bin of `x` as `SequentialRanks.cell` finds it (`bisect_left` as Python's), or
    /// None where Python would fail (past the last edge: not a state Python leaves).
    fn bin_of(&self, x: f64) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.edges.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.edges[mid] < x {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let edge = *self.edges.get(lo)?;
        Some(if edge == x {
            self.at[lo]
        } else {
            self.before[lo]
        })
    }

    /// The rank cell `(low, high)` of a value of bin `j`, which then joins the bin.
    fn join(&mut self, j: usize) -> (f64, f64) {
        let size = self.total + 1;
        let below: i64 = self.counts[..j].iter().sum();
        let count = self.counts[j] + 1;
        self.counts[j] = count;
        self.changed[j] = true;
        self.total = size;
        (
            below as f64 / size as f64,
            (below + count) as f64 / size as f64,
        )
    }
}

/// How the stratum's cells feed the CUSUM once calibrated: `unit`, `up_slope`, `up_drift`,
/// `down_slope`, `down_drift` of the `_Stratum`.
type CellScores = (f64, f64, f64, f64, f64);

/// The CUSUM's numbers: `n`, `warmup`, `upper`, `lower`, `threshold`, `k`, `direction`.
type CusumState = (i64, f64, f64, f64, f64, f64, String);

/// A value as `update_many` sees it: skipped (None, NaN, infinite), a number this loop
/// compares exactly as Python does (a float, or an int or bool within 2**53), or else
/// something left to Python.
enum Number {
    Skip,
    Finite(f64),
    Python,
}

fn number(item: &Bound<'_, PyAny>) -> Number {
    if item.is_none() {
        return Number::Skip;
    }
    if let Ok(float) = item.cast_exact::<PyFloat>() {
        let x = float.value();
        return if x.is_finite() {
            Number::Finite(x)
        } else {
            Number::Skip
        };
    }
    if (item.is_exact_instance_of::<PyInt>() || item.is_exact_instance_of::<PyBool>())
        && let Ok(n) = item.extract::<i64>()
        && n.unsigned_abs() <= MAX_EXACT as u64
    {
        return Number::Finite(n as f64);
    }
    Number::Python
}

fn exact_int(item: &Bound<'_, PyAny>) -> Option<i64> {
    if item.is_exact_instance_of::<PyInt>() {
        item.extract().ok()
    } else {
        None
    }
}

/// `_edges`, `_before`, `_at`, `_counts` (updated in place) and `_total` of a binned
/// `SequentialRanks`.
type BinLists<'py> = (Vec<f64>, Vec<usize>, Vec<usize>, Bound<'py, PyList>, i64);

/// What `cusum_steps` returns (`native_core.CusumProgress`): where it stopped, the change
/// if the last value processed raised an alarm (else None), the CUSUM's `n`, `upper`,
/// `lower`, `(z, z_mid)` of the last value processed (None if none was), the stratum's
/// `seen` and the bins' `total`.
type Progress = (
    usize,
    Option<&'static str>,
    i64,
    f64,
    f64,
    Option<(f64, f64)>,
    i64,
    i64,
);

/// `SelfStartingCusum.update` for `values[start:]`, while they are of stratum `key` and
/// need nothing rare (see the module's comment), appending each one's `z_mid` to `z_mids`
/// (NaN for a value skipped). Stops after a value that raises an alarm: the reset is
/// Python's. `stratum` is `(key, seen, calibrate_at, cell scores or None)`, `bins` the
/// binned reference (`_counts` is updated in place), `draw` the tie-breaking generator's
/// `random` when ties are broken at random (no cell scores), else None.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn cusum_steps<'py>(
    values: &Bound<'py, PyList>,
    strata: Option<&Bound<'py, PyList>>,
    start: usize,
    z_mids: &Bound<'py, PyList>,
    cusum: CusumState,
    stratum: (Bound<'py, PyAny>, i64, f64, Option<CellScores>),
    bins: BinLists<'py>,
    draw: Option<Bound<'py, PyAny>>,
) -> PyResult<Progress> {
    let (n, warmup, upper, lower, threshold, k, direction) = cusum;
    let (key, seen, calibrate_at, scores) = stratum;
    let (edges, before, at, py_counts, total) = bins;
    let counts: Vec<i64> = py_counts.extract()?;
    let slots = counts.len();
    let mut steps = Steps {
        n,
        upper,
        lower,
        seen,
        bins: Bins {
            changed: vec![false; slots],
            edges,
            before,
            at,
            counts,
            total,
        },
    };
    // A state Python could not have left (or a stratum key that is not a plain int): Python
    // then runs, and raises what it raises.
    let bins = &steps.bins;
    let usable = !bins.edges.is_empty()
        && bins.before.len() == bins.edges.len()
        && bins.at.len() == bins.edges.len()
        && bins.before.iter().chain(&bins.at).all(|&j| j < slots)
        && (scores.is_some() || draw.is_some());
    let (stop, change, last) = match exact_int(&key) {
        Some(key) if usable => {
            let rules = Rules {
                key,
                warmup,
                threshold,
                k,
                up_side: direction != "down",
                down_side: direction != "up",
                calibrate_at,
                scores,
                draw,
            };
            steps.run(&rules, values, strata, start, z_mids)
        }
        _ => (start, Ok(""), None),
    };
    // Written back even after an error (a failing draw): Python's `cell` counts the value
    // before it draws.
    for (j, _) in steps.bins.changed.iter().enumerate().filter(|(_, c)| **c) {
        py_counts.set_item(j, steps.bins.counts[j])?;
    }
    let Steps {
        n,
        upper,
        lower,
        seen,
        bins,
    } = steps;
    let change = Some(change?).filter(|change| !change.is_empty());
    Ok((stop, change, n, upper, lower, last, seen, bins.total))
}

/// What stays fixed during a call: the stratum, the CUSUM's settings, how values are scored.
struct Rules<'py> {
    key: i64,
    warmup: f64,
    threshold: f64,
    k: f64,
    up_side: bool,
    down_side: bool,
    calibrate_at: f64,
    scores: Option<CellScores>,
    draw: Option<Bound<'py, PyAny>>,
}

/// What a call changes: the CUSUM's `n`, `upper`, `lower`, the stratum's `seen`, its bins.
struct Steps {
    n: i64,
    upper: f64,
    lower: f64,
    seen: i64,
    bins: Bins,
}

impl Steps {
    /// The loop of `cusum_steps`: where it stopped, the change (or an error from `draw`),
    /// and `(z, z_mid)` of the last value processed.
    fn run<'py>(
        &mut self,
        rules: &Rules<'py>,
        values: &Bound<'py, PyList>,
        strata: Option<&Bound<'py, PyList>>,
        start: usize,
        z_mids: &Bound<'py, PyList>,
    ) -> (usize, PyResult<&'static str>, Option<(f64, f64)>) {
        let mut last = None;
        for i in start..values.len() {
            let Ok(item) = values.get_item(i) else {
                return (i, Ok(""), last);
            };
            let x = match number(&item) {
                Number::Skip => {
                    if let Err(e) = z_mids.append(f64::NAN) {
                        return (i, Err(e), last);
                    }
                    continue;
                }
                Number::Python => return (i, Ok(""), last),
                Number::Finite(x) => x,
            };
            if let Some(strata) = strata
                && strata.get_item(i).ok().and_then(|s| exact_int(&s)) != Some(rules.key)
            {
                return (i, Ok(""), last);
            }
            // `_calibrate` is Python's; so are totals past what doubles divide exactly.
            if (self.seen + 1) as f64 >= rules.calibrate_at || self.bins.total >= MAX_EXACT - 1 {
                return (i, Ok(""), last);
            }
            let Some(j) = self.bins.bin_of(x) else {
                return (i, Ok(""), last);
            };
            let (low, high) = self.bins.join(j);
            let z_mid = mid_score(low, high);
            let (z, up, down) = match (&rules.scores, &rules.draw) {
                (Some((unit, up_slope, up_drift, down_slope, down_drift)), _) => {
                    let m = expected_score(low, high);
                    (
                        m * unit,
                        up_slope * m - up_drift,
                        down_slope * m - down_drift,
                    )
                }
                (None, Some(draw)) => {
                    // Python's own generator: its draws and its state stay Python's.
                    let r: f64 = match draw.call0().and_then(|r| r.extract()) {
                        Ok(r) => r,
                        Err(e) => return (i + 1, Err(e), last),
                    };
                    let z = normal_quantile(clipped(low + r * (high - low)));
                    (z, z - rules.k, -z - rules.k)
                }
                (None, None) => unreachable!("checked before the loop"),
            };
            self.seen += 1;
            if let Err(e) = z_mids.append(z_mid) {
                return (i + 1, Err(e), last);
            }
            last = Some((z, z_mid));
            if let Some(change) = self.add(rules, up, down) {
                return (i + 1, Ok(change), last);
            }
        }
        (values.len(), Ok(""), last)
    }

    /// The end of `update`: count the value, then past the warm-up add its increments;
    /// the side of an alarm if one is raised.
    fn add(&mut self, rules: &Rules<'_>, up: f64, down: f64) -> Option<&'static str> {
        self.n += 1;
        if (self.n as f64) <= rules.warmup {
            return None;
        }
        if rules.up_side {
            let sum = self.upper + up;
            self.upper = if sum > 0.0 { sum } else { 0.0 };
        }
        if rules.down_side {
            let sum = self.lower + down;
            self.lower = if sum > 0.0 { sum } else { 0.0 };
        }
        let threshold = rules.threshold;
        if self.upper > threshold || self.lower > threshold {
            Some(if self.upper > threshold { "up" } else { "down" })
        } else {
            None
        }
    }
}

/// `(z_mids, means)`: `_mid_score(low, high)` and `_expected_score(low, high)` for each cell
/// `(lows[i], highs[i])`, the arithmetic `cusum_steps` does per value; Python compares it
/// with its own before using the core (and the tests do, over millions of cells).
#[pyfunction]
pub fn cell_scores(lows: Vec<f64>, highs: Vec<f64>) -> (Vec<f64>, Vec<f64>) {
    lows.iter()
        .zip(&highs)
        .map(|(&low, &high)| (mid_score(low, high), expected_score(low, high)))
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_known_points() {
        assert_eq!(normal_quantile(0.5), 0.0);
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-15);
        assert_eq!(normal_quantile(0.1), -normal_quantile(0.9));
        assert!((normal_quantile(1e-300) + 37.0471).abs() < 1e-3); // the far branch
    }

    #[test]
    fn expected_scores_of_halves() {
        // The lower half: -2 phi(0); a point: its quantile.
        assert!((expected_score(0.0, 0.5) + 0.7978845608028654).abs() < 1e-15);
        assert!(expected_score(0.5, 0.5 + 1e-9).abs() < 1e-6);
    }

    #[test]
    fn bins_rank_like_sequential_ranks() {
        // Edges [1.0 (tied), 2.0, inf]: bins 0 (< 1), 1 (= 1), 2 (1..2], 3 (> 2).
        let mut bins = Bins {
            edges: vec![1.0, 2.0, f64::INFINITY],
            before: vec![0, 2, 3],
            at: vec![1, 2, 3],
            counts: vec![1, 2, 1, 0],
            changed: vec![false; 4],
            total: 4,
        };
        assert_eq!(bins.bin_of(1.0), Some(1));
        assert_eq!(bins.bin_of(1.5), Some(2));
        assert_eq!(bins.bin_of(2.0), Some(2));
        assert_eq!(bins.bin_of(7.0), Some(3));
        assert_eq!(bins.join(1), (0.2, 0.8));
        assert_eq!((bins.counts[1], bins.total, bins.changed[1]), (3, 5, true));
    }
}
