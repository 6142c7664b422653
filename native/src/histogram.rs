//! The counts behind the collector's `watchkeeper_detector_score` histogram
//! (`ScoreHistogram` in `watchkeeper/collector/metrics.py`), filled a batch at a time.
//!
//! Every call brings a dozen scores; in Python each costs a dict look-up, a `bisect` and two
//! float additions with the GIL held (about 5 µs per call). Here the score names index the
//! series through a Python dict (their hashes are cached in the strings) and the counts are
//! plain doubles. The buckets and the running sums are the ones Python computes: a value
//! goes to the first bound not below it (`bisect_left`), and each series' sum adds the values
//! one by one in the order given, as `+=` does.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// Counts per score name and bucket, and the sum of the values, of a histogram.
#[pyclass(module = "watchkeeper.native")]
pub struct ScoreCounts {
    bounds: Vec<f64>,
    /// Score name -> its index in `series`.
    index: Py<PyDict>,
    /// Per series: one count per bound, the `+Inf` count, then the sum.
    series: Vec<Vec<f64>>,
}

#[pymethods]
impl ScoreCounts {
    /// Counts for these bucket bounds (sorted ascending).
    #[new]
    fn new(py: Python<'_>, bounds: Vec<f64>) -> PyResult<Self> {
        // NaN bounds are refused too (they compare as not sorted).
        if !bounds.windows(2).all(|w| w[0] < w[1]) {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "bounds must be sorted ascending, without repeats",
            ));
        }
        Ok(ScoreCounts {
            bounds,
            index: PyDict::new(py).unbind(),
            series: Vec::new(),
        })
    }

    /// Adds every value of every mapping (``{score name: value}``) under its name.
    fn observe_many(&mut self, py: Python<'_>, scores: &Bound<'_, PyAny>) -> PyResult<()> {
        let index = self.index.bind(py);
        let size = self.bounds.len() + 1;
        for one in scores.try_iter()? {
            let one = one?;
            let one = one.cast::<PyDict>()?;
            for (key, value) in one.iter() {
                let value: f64 = value.extract()?;
                let at = match index.get_item(&key)? {
                    Some(at) => at.extract::<usize>()?,
                    None => {
                        index.set_item(&key, self.series.len())?;
                        self.series.push(vec![0.0; size + 1]);
                        self.series.len() - 1
                    }
                };
                let counts = &mut self.series[at];
                counts[self.bounds.partition_point(|&b| b < value)] += 1.0;
                counts[size] += value;
            }
        }
        Ok(())
    }

    /// ``{score name: [count per bucket (+Inf last)..., sum]}``, a copy.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (key, at) in self.index.bind(py).iter() {
            let at: usize = at.extract()?;
            out.set_item(key, PyList::new(py, &self.series[at])?)?;
        }
        Ok(out)
    }
}
