package sagemaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mdlc/mdlc/localaws/algorithm"
)

// Layout under Options.Dir: state/<kind>/<name>.json holds one resource each; jobs/<kind>/<name>/ is a job's
// working directory (its training-container root, or its transform inputs and outputs, and its log).
const (
	stateDir = "state"
	jobsDir  = "jobs"

	kindTraining  = "training-jobs"
	kindTransform = "transform-jobs"
	kindModel     = "models"
	kindGroup     = "model-package-groups"
	kindPackage   = "model-packages"
)

// save writes one resource's file atomically (temp file, then rename); the caller holds mu.
func (s *Service) save(kind, name string, v any) error {
	dir := filepath.Join(s.opts.Dir, stateDir, kind)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save %s %s: %w", kind, name, err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("save %s %s: encode: %w", kind, name, err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("save %s %s: %w", kind, name, err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("save %s %s: write %s: %w", kind, name, tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name+".json")); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("save %s %s: %w", kind, name, err)
	}
	return nil
}

// remove deletes one resource's file; the caller holds mu.
func (s *Service) remove(kind, name string) error {
	err := os.Remove(filepath.Join(s.opts.Dir, stateDir, kind, name+".json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s %s: %w", kind, name, err)
	}
	return nil
}

// jobDir is the working directory of one job.
func (s *Service) jobDir(kind, name string) string {
	return filepath.Join(s.opts.Dir, jobsDir, kind, strings.ToLower(name))
}

// loadKind reads every resource file of one kind and hands each to add.
func loadKind[T any](dir, kind string, add func(file string, r *record[T])) error {
	entries, err := os.ReadDir(filepath.Join(dir, stateDir, kind))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", kind, err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, stateDir, kind, name))
		if err != nil {
			return fmt.Errorf("read %s %s: %w", kind, name, err)
		}
		r := new(record[T])
		if err := json.Unmarshal(b, r); err != nil {
			return fmt.Errorf("decode %s %s: %w", kind, name, err)
		}
		add(strings.TrimSuffix(name, ".json"), r)
	}
	return nil
}

// load reads the state under Dir and fails the jobs the previous process left running.
func (s *Service) load(ctx context.Context) error {
	dir := s.opts.Dir
	if err := errors.Join(
		loadKind(dir, kindTraining, func(_ string, r *record[trainingJob]) {
			s.training[strings.ToLower(r.Resource.TrainingJobName)] = r
		}),
		loadKind(dir, kindTransform, func(_ string, r *record[transformJob]) {
			s.transforms[strings.ToLower(r.Resource.TransformJobName)] = r
		}),
		loadKind(dir, kindModel, func(_ string, r *record[model]) {
			s.models[strings.ToLower(r.Resource.ModelName)] = r
		}),
		loadKind(dir, kindGroup, func(_ string, r *record[modelPackageGroup]) {
			s.groups[strings.ToLower(r.Resource.ModelPackageGroupName)] = r
		}),
		loadKind(dir, kindPackage, func(_ string, r *record[modelPackage]) {
			s.packages[r.Resource.ModelPackageArn] = r
		}),
	); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for key, r := range s.training {
		j := &r.Resource
		if j.TrainingJobStatus == statusInProgress || j.TrainingJobStatus == statusStopping {
			if err := algorithm.KillLeftover(s.jobDir(kindTraining, key)); err != nil {
				s.opts.Logger.WarnContext(ctx, "leftover algorithm of a training job", "job", j.TrainingJobName, "error", err)
			}
			j.fail(reasonRestarted, now)
			if err := s.save(kindTraining, key, r); err != nil {
				return err
			}
			s.opts.Logger.WarnContext(ctx, "training job failed by restart", "job", j.TrainingJobName)
		}
	}
	for key, r := range s.transforms {
		j := &r.Resource
		if j.TransformJobStatus == statusInProgress || j.TransformJobStatus == statusStopping {
			// A transform's algorithm runs in the job's model directory, where its process is recorded.
			if err := algorithm.KillLeftover(filepath.Join(s.jobDir(kindTransform, key), "model")); err != nil {
				s.opts.Logger.WarnContext(ctx, "leftover algorithm of a transform job", "job", j.TransformJobName, "error", err)
			}
			j.fail(reasonRestarted, now)
			if err := s.save(kindTransform, key, r); err != nil {
				return err
			}
			s.opts.Logger.WarnContext(ctx, "transform job failed by restart", "job", j.TransformJobName)
		}
	}
	return nil
}
