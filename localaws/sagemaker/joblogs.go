package sagemaker

import (
	"path/filepath"

	"github.com/mdlc/mdlc/localaws/logs"
)

// Log files of jobs, in their job directories.
const (
	trainingLog  = "algorithm.log"
	transformLog = "transform.log"
)

// LogSources lists the log streams of the jobs that have started, for the CloudWatch Logs service.
func (s *Service) LogSources() []logs.Source {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logs.Source
	for key, r := range s.training {
		if t := r.Resource.TrainingStartTime; t != nil {
			out = append(out, logs.Source{Group: logs.TrainingGroup, Stream: logs.TrainingStream(r.Resource.TrainingJobName, t.Time),
				Created: t.Time, Path: filepath.Join(s.jobDir(kindTraining, key), trainingLog)})
		}
	}
	for key, r := range s.transforms {
		if t := r.Resource.TransformStartTime; t != nil {
			out = append(out, logs.Source{Group: logs.TransformGroup, Stream: logs.TransformStream(r.Resource.TransformJobName, t.Time),
				Created: t.Time, Path: filepath.Join(s.jobDir(kindTransform, key), transformLog)})
		}
	}
	return out
}
