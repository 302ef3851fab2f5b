package algorithm

import "regexp"

// xgboostImageRE matches the SageMaker built-in XGBoost images in every region and partition: an ECR
// registry host (<account>.dkr.ecr[-fips].<region>.amazonaws.com, or .amazonaws.com.cn in China) and the
// repository xgboost (the original xgboost:1 image) or sagemaker-xgboost (0.90-1 and later), with any tag
// or digest.
var xgboostImageRE = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z]{2}(-[a-z]+)+-[0-9]+\.amazonaws\.com(\.cn)?/(sagemaker-)?xgboost(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})?$`)

// IsXGBoostImage reports whether image is a SageMaker built-in XGBoost image URI.
func IsXGBoostImage(image string) bool {
	return xgboostImageRE.MatchString(image)
}
