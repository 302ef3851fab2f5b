package algorithm

import (
	"fmt"
	"math"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// xgbParams is a validated SageMaker XGBoost hyperparameter set, translated for the XGBoost command-line
// program.
type xgbParams struct {
	numRound    int64
	objective   string
	evalMetrics []string
	csvWeights  bool
	// notes are lines for the job's log about changes made to what the job asked for.
	notes []string
	// config holds the lines "key = value" for the CLI's configuration file, in a stable order. Every value
	// was produced by this package from a parsed number or a fixed vocabulary, never copied from the input.
	config []string
}

// interval is a range of numbers, each end open, closed or unbounded, as the SageMaker container states them.
type interval struct {
	min, max         float64
	hasMin, hasMax   bool
	minOpen, maxOpen bool
}

func atLeast(v float64) interval   { return interval{min: v, hasMin: true} }
func above(v float64) interval     { return interval{min: v, hasMin: true, minOpen: true} }
func closed(a, b float64) interval { return interval{min: a, max: b, hasMin: true, hasMax: true} }
func openClosed(a, b float64) interval {
	return interval{min: a, max: b, hasMin: true, hasMax: true, minOpen: true}
}
func open(a, b float64) interval {
	return interval{min: a, max: b, hasMin: true, hasMax: true, minOpen: true, maxOpen: true}
}

func (r interval) contains(v float64) bool {
	switch {
	case r.hasMin && r.minOpen && v <= r.min, r.hasMin && !r.minOpen && v < r.min:
		return false
	case r.hasMax && r.maxOpen && v >= r.max, r.hasMax && !r.maxOpen && v > r.max:
		return false
	}
	return true
}

func (r interval) String() string {
	lo, hi := "(-inf", "+inf)"
	if r.hasMin {
		b := "["
		if r.minOpen {
			b = "("
		}
		lo = b + strconv.FormatFloat(r.min, 'g', -1, 64)
	}
	if r.hasMax {
		b := "]"
		if r.maxOpen {
			b = ")"
		}
		hi = strconv.FormatFloat(r.max, 'g', -1, 64) + b
	}
	return lo + ", " + hi
}

// hpParser checks one hyperparameter's value and returns the value to write into the CLI configuration.
type hpParser func(name, value string) (string, error)

func integer(r interval) hpParser {
	return func(name, value string) (string, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return "", fmt.Errorf("hyperparameter %s: could not parse value %q as an integer", name, value)
		}
		if !r.contains(float64(n)) {
			return "", fmt.Errorf("hyperparameter %s: %d is not in %s", name, n, r)
		}
		return strconv.FormatInt(n, 10), nil
	}
}

func continuous(r interval) hpParser {
	return func(name, value string) (string, error) {
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("hyperparameter %s: could not parse value %q as a finite number", name, value)
		}
		if !r.contains(f) {
			return "", fmt.Errorf("hyperparameter %s: %s is not in %s", name, strconv.FormatFloat(f, 'g', -1, 64), r)
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	}
}

func oneOf(values ...string) hpParser {
	return func(name, value string) (string, error) {
		for _, v := range values {
			if value == v {
				return v, nil
			}
		}
		return "", fmt.Errorf("hyperparameter %s: %q is not one of %s", name, value, strings.Join(values, ", "))
	}
}

var (
	monotoneRE    = regexp.MustCompile(`^\((-?[01](,-?[01])*)?\)$`)
	interactionRE = regexp.MustCompile(`^\[(\[\d+(,\d+)*\](,\[\d+(,\d+)*\])*)?\]$`)
)

func pattern(re *regexp.Regexp, want string) hpParser {
	return func(name, value string) (string, error) {
		v := strings.Join(strings.Fields(value), "")
		if !re.MatchString(v) {
			return "", fmt.Errorf("hyperparameter %s: %q is not %s", name, value, want)
		}
		return v, nil
	}
}

// xgbObjectives are the objectives of the SageMaker XGBoost container that XGBoost 1.7 implements.
var xgbObjectives = []string{
	"binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson", "multi:softmax", "multi:softprob",
	"rank:pairwise", "rank:ndcg", "rank:map", "reg:linear", "reg:squarederror", "reg:logistic", "reg:gamma",
	"reg:pseudohubererror", "reg:squaredlogerror", "reg:absoluteerror", "reg:tweedie", "survival:aft",
	"survival:cox",
}

// xgbNativeMetrics are the evaluation metrics XGBoost itself computes (the CLI knows nothing else).
var xgbNativeMetrics = map[string]bool{
	"rmse": true, "rmsle": true, "mae": true, "mape": true, "mphe": true, "logloss": true, "error": true,
	"merror": true, "mlogloss": true, "auc": true, "aucpr": true, "ndcg": true, "map": true,
	"poisson-nloglik": true, "gamma-nloglik": true, "cox-nloglik": true, "gamma-deviance": true,
	"tweedie-nloglik": true, "aft-nloglik": true, "interval-regression-accuracy": true,
}

// containerOnlyMetrics are computed by the SageMaker container in Python, not by XGBoost.
var containerOnlyMetrics = map[string]bool{
	"accuracy": true, "balanced_accuracy": true, "f1": true, "f1_binary": true, "f1_macro": true,
	"precision": true, "precision_macro": true, "precision_micro": true, "recall": true, "recall_macro": true,
	"recall_micro": true, "r2": true, "mse": true,
}

var metricThresholdRE = regexp.MustCompile(`^(error|ndcg|map|pre)@([0-9.eE+-]+)(-?)$`)

func parseEvalMetrics(value string) ([]string, error) {
	var out []string
	for _, m := range strings.Split(value, ",") {
		m = strings.TrimSpace(m)
		switch {
		case xgbNativeMetrics[m]:
			out = append(out, m)
		case containerOnlyMetrics[m]:
			return nil, fmt.Errorf("hyperparameter eval_metric: metric %q is computed by the SageMaker container, not by XGBoost, and is not supported locally", m)
		default:
			g := metricThresholdRE.FindStringSubmatch(m)
			if g == nil {
				return nil, fmt.Errorf("hyperparameter eval_metric: %q is not a supported metric", m)
			}
			if _, err := strconv.ParseFloat(g[2], 64); err != nil {
				return nil, fmt.Errorf("hyperparameter eval_metric: threshold in %q is not a number", m)
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// unsupportedLocally names hyperparameters the SageMaker container accepts but the local runner cannot honour.
var unsupportedLocally = map[string]string{
	"early_stopping_rounds": "the XGBoost command-line program has no early stopping",
	"_kfold":                "cross-validation is done by the SageMaker container, not by XGBoost",
	"_num_cv_round":         "cross-validation is done by the SageMaker container, not by XGBoost",
}

// ignoredLocally are accepted and validated but have no effect locally (GPU and termination settings).
var ignoredLocally = map[string]hpParser{
	"_tuning_objective_metric":   pattern(regexp.MustCompile(`^(train|validation):[a-z0-9_@.\-]+$`), "a metric name such as validation:auc"),
	"save_model_on_termination":  oneOf("true", "false"),
	"single_precision_histogram": oneOf("true", "false"),
	"deterministic_histogram":    oneOf("true", "false"),
	"prob_buffer_row":            integer(above(1)),
	"use_dask_gpu_training":      oneOf("false"),
}

// xgbHyperparameters are passed to XGBoost under their own name once validated. Ranges follow the SageMaker
// XGBoost container (sagemaker-xgboost-container, algorithm_mode/hyperparameter_validation.py).
var xgbHyperparameters = map[string]hpParser{
	"booster":                     oneOf("gbtree", "gblinear", "dart"),
	"verbosity":                   integer(closed(0, 3)),
	"nthread":                     integer(atLeast(1)),
	"eta":                         continuous(closed(0, 1)),
	"gamma":                       continuous(atLeast(0)),
	"max_depth":                   integer(atLeast(0)),
	"min_child_weight":            continuous(atLeast(0)),
	"max_delta_step":              continuous(atLeast(0)),
	"subsample":                   continuous(openClosed(0, 1)),
	"colsample_bytree":            continuous(openClosed(0, 1)),
	"colsample_bylevel":           continuous(openClosed(0, 1)),
	"colsample_bynode":            continuous(openClosed(0, 1)),
	"lambda":                      continuous(atLeast(0)),
	"alpha":                       continuous(atLeast(0)),
	"tree_method":                 oneOf("auto", "exact", "approx", "hist"),
	"sketch_eps":                  continuous(open(0, 1)),
	"scale_pos_weight":            continuous(above(0)),
	"refresh_leaf":                integer(closed(0, 1)),
	"process_type":                oneOf("default", "update"),
	"grow_policy":                 oneOf("depthwise", "lossguide"),
	"max_leaves":                  integer(atLeast(0)),
	"max_bin":                     integer(atLeast(0)),
	"predictor":                   oneOf("auto", "cpu_predictor"),
	"monotone_constraints":        pattern(monotoneRE, "a tuple of -1, 0 and 1 such as (1,-1,0)"),
	"interaction_constraints":     pattern(interactionRE, "a nested list of feature indices such as [[0,1],[2,3]]"),
	"sample_type":                 oneOf("uniform", "weighted"),
	"normalize_type":              oneOf("tree", "forest"),
	"rate_drop":                   continuous(closed(0, 1)),
	"one_drop":                    integer(closed(0, 1)),
	"skip_drop":                   continuous(closed(0, 1)),
	"lambda_bias":                 continuous(closed(0, 1)),
	"tweedie_variance_power":      continuous(open(1, 2)),
	"objective":                   oneOf(xgbObjectives...),
	"num_class":                   integer(atLeast(2)),
	"base_score":                  continuous(atLeast(0)),
	"seed":                        integer(open(-(1 << 31), 1<<31-1)),
	"num_parallel_tree":           integer(atLeast(1)),
	"aft_loss_distribution":       oneOf("normal", "logistic", "extreme"),
	"aft_loss_distribution_scale": continuous(atLeast(0)),
	"sampling_method":             oneOf("uniform"),
	"updater": func(name, value string) (string, error) {
		allowed := oneOf("grow_colmaker", "grow_histmaker", "grow_quantile_histmaker", "sync", "refresh",
			"prune", "shotgun", "coord_descent")
		var out []string
		for _, u := range strings.Split(value, ",") {
			v, err := allowed(name, strings.TrimSpace(u))
			if err != nil {
				return "", err
			}
			out = append(out, v)
		}
		return strings.Join(out, ","), nil
	},
}

// xgbAliases maps XGBoost's alias names to the name the SageMaker container and XGBoost resolve them to.
var xgbAliases = map[string]string{
	"learning_rate":  "eta",
	"min_split_loss": "gamma",
	"reg_lambda":     "lambda",
	"reg_alpha":      "alpha",
}

// parseXGBoostHyperparameters validates hp the way the SageMaker XGBoost container does and translates it for
// the XGBoost command-line program. Errors read like the container's ("hyperparameter max_depth: ...").
//
// Aliases: when both a name and its alias are given (eta and learning_rate in the workshop's set), the alias
// wins. That is what XGBoost 1.7 does (its learner keeps parameters in a sorted map, so learning_rate is applied
// after eta whatever the order given; checked with the CLI), and what the SageMaker container does for
// hyperparameters.json written with sorted keys (its alias pass keeps the last key seen).
//
// silent: the open-source container (0.90-1 and later) rejects it as extraneous, but the original xgboost:1
// image accepted it and the workshop passes silent=0; it is accepted for that reason: silent=1 means
// verbosity=0 unless verbosity is given, silent=0 changes nothing.
func parseXGBoostHyperparameters(hp map[string]string) (*xgbParams, error) {
	names := make([]string, 0, len(hp))
	for name := range hp {
		names = append(names, name)
	}
	sort.Strings(names)

	values := map[string]string{} // canonical name → CLI value
	p := &xgbParams{}
	silent := ""
	for _, name := range names {
		value := hp[name]
		if strings.ContainsAny(value, "\x00\r\n") {
			return nil, fmt.Errorf("hyperparameter %s: value contains a control character", name)
		}
		canonical := name
		if c, ok := xgbAliases[name]; ok {
			canonical = c
		}
		switch {
		case canonical == "num_round":
			v, err := integer(atLeast(1))(name, value)
			if err != nil {
				return nil, err
			}
			p.numRound, _ = strconv.ParseInt(v, 10, 64)
		case canonical == "eval_metric":
			m, err := parseEvalMetrics(value)
			if err != nil {
				return nil, err
			}
			p.evalMetrics = m
		case canonical == "csv_weights":
			v, err := integer(closed(0, 1))(name, value)
			if err != nil {
				return nil, err
			}
			p.csvWeights = v == "1"
		case canonical == "silent":
			v, err := integer(closed(0, 1))(name, value)
			if err != nil {
				return nil, err
			}
			silent = v
		case unsupportedLocally[canonical] != "":
			return nil, fmt.Errorf("hyperparameter %s: not supported locally: %s", name, unsupportedLocally[canonical])
		case ignoredLocally[canonical] != nil:
			if _, err := ignoredLocally[canonical](name, value); err != nil {
				return nil, err
			}
		case xgbHyperparameters[canonical] != nil:
			v, err := xgbHyperparameters[canonical](name, value)
			if err != nil {
				return nil, err
			}
			// Sorted order puts an alias after its canonical name (eta < learning_rate, gamma < min_split_loss,
			// alpha < reg_alpha, lambda < reg_lambda), so the alias overwrites: see the doc comment.
			values[canonical] = v
		case strings.HasPrefix(name, "sagemaker_"):
			return nil, fmt.Errorf("hyperparameter %s: script mode (a user training script) is not supported locally", name)
		default:
			return nil, fmt.Errorf("extraneous hyperparameter found: %s", name)
		}
	}
	if p.numRound == 0 {
		return nil, fmt.Errorf("missing required hyperparameter: num_round")
	}
	if silent == "1" && values["verbosity"] == "" {
		values["verbosity"] = "0"
	}
	if v, ok := values["nthread"]; ok {
		// A real instance runs as many threads as it has vCPUs; thousands of threads on a small host would
		// only slow everything down (the integer parser accepted the value, so it parses).
		if n, _ := strconv.Atoi(v); n > hostThreads() {
			values["nthread"] = strconv.Itoa(hostThreads())
			p.notes = append(p.notes, fmt.Sprintf("nthread=%d capped to %d, the CPUs of this host", n, hostThreads()))
		}
	}
	p.objective = values["objective"]
	if strings.HasPrefix(p.objective, "multi:") && values["num_class"] == "" {
		return nil, fmt.Errorf("hyperparameter num_class is required for multi-classification objective %s", p.objective)
	}
	for _, m := range p.evalMetrics {
		if strings.HasPrefix(m, "auc") && !strings.HasPrefix(p.objective, "binary:") && !strings.HasPrefix(p.objective, "rank:") {
			return nil, fmt.Errorf("hyperparameter eval_metric: metric %s can only be applied for classification and ranking objectives", m)
		}
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.config = append(p.config, k+" = "+values[k])
	}
	return p, nil
}

// hostThreads is how many threads XGBoost may run: the CPUs this host gives localaws, as a real instance's
// vCPUs bound what its container can run.
func hostThreads() int { return runtime.NumCPU() }
