package sagemaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
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

// save writes one resource's file atomically and durably (temp file, fsync, rename, fsync of the directory),
// so that a crash leaves either the old or the new file; the caller holds mu.
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
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("save %s %s: write %s: %w", kind, name, tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name+".json")); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("save %s %s: %w", kind, name, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("save %s %s: %w", kind, name, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// update changes a stored resource: f edits a copy, the copy is saved, and only a saved change is published
// to memory, so that memory and disk never disagree (a change that cannot be saved changes nothing). The
// caller holds mu.
func update[T any](s *Service, kind, file string, r *record[T], f func(*T)) error {
	next := &record[T]{Resource: *clone(&r.Resource), Tags: r.Tags, ClientToken: r.ClientToken}
	f(&next.Resource)
	if err := s.save(kind, file, next); err != nil {
		return err
	}
	*r = *next
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

// corruptSuffix is appended to a state file that cannot be read, which is set aside rather than loaded.
const corruptSuffix = ".corrupt"

// loadKind reads every resource file of one kind into the map, by key. A file that does not decode (cut
// short by a crash of an older version, or edited by hand) is renamed to <name>.json.corrupt (.corrupt.N if
// that exists) with a warning,
// and the others load; temp files a crash left behind are removed.
func loadKind[T any](ctx context.Context, log *slog.Logger, dir, kind string, into map[string]*record[T], key func(*T) string) error {
	kindDir := filepath.Join(dir, stateDir, kind)
	entries, err := os.ReadDir(kindDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", kind, err)
	}
	for _, e := range entries {
		name := e.Name()
		file := filepath.Join(kindDir, name)
		if !e.IsDir() && strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp") {
			if err := os.Remove(file); err != nil {
				return fmt.Errorf("remove unfinished %s: %w", file, err)
			}
			continue
		}
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read %s %s: %w", kind, name, err)
		}
		r := new(record[T])
		err = json.Unmarshal(b, r)
		if err == nil && key(&r.Resource) == "" {
			err = errors.New("the resource has no name")
		}
		if err != nil {
			aside := file + corruptSuffix
			for n := 1; fileExists(aside); n++ { // never overwrite a file set aside before
				aside = fmt.Sprintf("%s%s.%d", file, corruptSuffix, n)
			}
			if rerr := os.Rename(file, aside); rerr != nil {
				return fmt.Errorf("decode %s: %w (and set it aside: %w)", file, err, rerr)
			}
			log.WarnContext(ctx, "sagemaker state file is corrupt: set aside, its resource is not loaded",
				"kind", kind, "file", file, "moved_to", aside, "error", err)
			continue
		}
		into[key(&r.Resource)] = r
	}
	return nil
}

func fileExists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

// load reads the state under Dir, fails the jobs the previous process left running (as after an instance
// failure) and removes the working copies every ended job leaves (see removeWorkingCopies).
func (s *Service) load(ctx context.Context) error {
	dir, log := s.opts.Dir, s.opts.Logger
	if err := errors.Join(
		loadKind(ctx, log, dir, kindTraining, s.training, func(j *trainingJob) string { return strings.ToLower(j.TrainingJobName) }),
		loadKind(ctx, log, dir, kindTransform, s.transforms, func(j *transformJob) string { return strings.ToLower(j.TransformJobName) }),
		loadKind(ctx, log, dir, kindModel, s.models, func(m *model) string { return strings.ToLower(m.ModelName) }),
		loadKind(ctx, log, dir, kindGroup, s.groups, func(g *modelPackageGroup) string { return strings.ToLower(g.ModelPackageGroupName) }),
		loadKind(ctx, log, dir, kindPackage, s.packages, func(p *modelPackage) string { return p.ModelPackageArn }),
	); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if err := trainingJobs.recoverRuns(ctx, s, now); err != nil {
		return err
	}
	return transformJobs.recoverRuns(ctx, s, now)
}

// trainingWorkingCopies and transformWorkingCopies are what a job's directory holds only while it runs: a
// training-container root's input channels, model and model archive (the model is in S3 once uploaded); a
// transform job's model, inputs, records, predictions and outputs (the outputs are in S3). What stays is what
// a user reads afterwards: algorithm.log and output/failure of a training job, transform.log of a transform
// job.
func trainingWorkingCopies(jobDir string) []string {
	layout := algorithm.Root(jobDir)
	return []string{layout.DataDir(), layout.ModelDir(), filepath.Join(layout.OutputDir(), modelArchive)}
}

func transformWorkingCopies(jobDir string) []string {
	var copies []string
	for _, c := range []string{"model", "input", "records", "predictions", "output"} {
		copies = append(copies, filepath.Join(jobDir, c))
	}
	return copies
}

// modelArchive is the name of a training job's model archive, in its output directory and in S3.
const modelArchive = "model.tar.gz"

// removeWorkingCopies deletes a job's working copies once the job has ended.
func removeWorkingCopies(copies []string) error {
	for _, c := range copies {
		if err := os.RemoveAll(c); err != nil {
			return fmt.Errorf("remove working copy: %w", err)
		}
	}
	return nil
}
