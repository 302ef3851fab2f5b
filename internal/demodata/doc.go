// Package demodata generates the demo dataset of the MDLC pipelines: a reproducible binary-classification
// dataset with one set of files per data date, whose relationship between features and label drifts from
// date to date, written to a bucket (localaws or real S3) or a directory in the layout the pipelines read:
//
//	input-data/<date>/train/train.csv                     label,f1,...,fn  (no header)
//	input-data/<date>/validation/validation.csv           label,f1,...,fn
//	input-data/<date>/holdout_data/holdout_data.csv       f1,...,fn        (batch-transform input)
//	input-data/<date>/holdout_target/holdout_target.csv   label            (same rows, same order)
//
// The CSV files are what SageMaker's built-in XGBoost reads: label 0/1 in the first column, no header.
//
// # How the data is drawn
//
// Features are independent normals with unit variance; the label of a row is drawn from a logistic model,
// P(1) = 1/(1+exp(-(b + w·x))), with |w| = 3.5 and b = -0.5. Drift is measured in months of 30 days from
// Config.BaseDate: w rotates by Config.RotationPerMonth degrees per month, from the first half of the
// features towards the second half (concept drift; |w| is kept, so each date is equally learnable), and
// the mean of the first feature moves by Config.ShiftPerMonth standard deviations per month (covariate
// drift). Every file is generated from a random stream derived from the seed, its date and its split
// only: the same Config gives byte-identical files, each date is an independent draw, and the two holdout
// files replay the same stream so that their rows match. Files are generated while they are written, so
// a million-row split takes no more memory than a hundred-row one.
//
// # Measured drift
//
// With the defaults (seed 42; 15,000/5,000/5,000 rows; 10 features; 55° and 0.5 sd per month) and the
// original training hyperparameters (XGBoost 1.7.4 CLI, 200 rounds), scikit-learn's roc_auc_score on the
// holdouts gives (TestDriftWithXGBoost):
//
//	model trained on    scored on 2019-10-01    scored on 2019-11-01
//	2019-10-01          0.9238                  0.7228
//	2019-11-01          0.7071                  0.9314
//
// so a threshold of 0.8 keeps the October model in October and retrains it in November, and the retrained
// model is good again. Seeds 1, 2 and 3 give 0.930–0.940 on the training date and 0.714–0.723 a month
// later.
//
// Byte-identical output is guaranteed for a given Go version and architecture. Across architectures the
// floating-point results could differ in the last bit (Go may fuse multiply-adds on some of them), which
// changes a file only in the rare case where a value sits on a rounding boundary of the CSV's four decimals.
package demodata
