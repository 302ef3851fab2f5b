// Package logs is localaws's CloudWatch Logs: the part of its API that SageMaker users read job logs with,
// over the JSON 1.1 protocol (X-Amz-Target: Logs_20140328.<Operation>, SigV4 service "logs"). It serves
// DescribeLogStreams, GetLogEvents and FilterLogEvents on the log groups SageMaker writes to,
// /aws/sagemaker/TrainingJobs and /aws/sagemaker/TransformJobs, one stream per job named as SageMaker names
// them: "<training job>/algo-1-<start, epoch seconds>" and "<transform job>/<instance id>-<start, epoch
// seconds>" (the instance id is made up, stable per job name).
//
// The events are the lines of the logs the sagemaker service keeps in each job's directory (algorithm.log,
// transform.log), as they are written: a job writes its log through File, which records the time each line
// ends in <log>.times beside it, and that time is the event's timestamp and ingestion time. A line without
// a newline becomes an event once it ends (or the job ends). A log group exists once one of its jobs has
// started.
//
// Not supported: writing (CreateLogGroup, PutLogEvents, ...), other groups, logGroupIdentifier, unmask,
// DescribeLogStreams' storedBytes (always 0), filter patterns other than plain terms (all must appear in a
// line) or one "quoted phrase", FilterLogEvents' interleaved=false, and the 1 MB cap on an answer (limits
// apply to the number of events only). At most 64 MiB of a log are read. Tokens are positions among the
// stream's events (GetLogEvents: "f/<n>" and "b/<n>"; AWS's forward token stays the same once there are no
// newer events, and so does it here).
package logs

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mdlc/mdlc/localaws/awserr"
)

// The log groups SageMaker writes job logs to.
const (
	TrainingGroup  = "/aws/sagemaker/TrainingJobs"
	TransformGroup = "/aws/sagemaker/TransformJobs"
)

// TargetPrefix is the X-Amz-Target prefix of CloudWatch Logs requests.
const TargetPrefix = "Logs_20140328."

// TrainingStream is the log stream name of a training job's only instance.
func TrainingStream(job string, start time.Time) string {
	return job + "/algo-1-" + strconv.FormatInt(start.Unix(), 10)
}

// TransformStream is the log stream name of a transform job's only instance.
func TransformStream(job string, start time.Time) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(job))
	return fmt.Sprintf("%s/i-%017x-%d", job, h.Sum64(), start.Unix())
}

// Source is one job's log stream.
type Source struct {
	Group  string
	Stream string
	// Created is when the stream was created (the job's start).
	Created time.Time
	// Path is the log file, written through File.
	Path string
}

// Options configure a Service.
type Options struct {
	// Sources lists the log streams there are now.
	Sources   func() []Source
	Region    string
	AccountID string
	Logger    *slog.Logger
}

// Service serves the CloudWatch Logs API.
type Service struct {
	opts Options
}

// New returns a Service.
func New(opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{opts: opts}
}

// maxBody bounds a request body.
const maxBody = 1 << 20

var operations = map[string]func(*Service, []byte) (any, error){
	"DescribeLogStreams": (*Service).describeLogStreams,
	"GetLogEvents":       (*Service).getLogEvents,
	"FilterLogEvents":    (*Service).filterLogEvents,
}

// Operation names the operation of a request, for logs.
func Operation(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
}

// ServeHTTP serves one CloudWatch Logs request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awserr.ServeJSON11(w, r, s, operations, awserr.JSON11Service{
		TargetPrefix: TargetPrefix, UnknownOperation: awserr.LogsUnknownOperation,
		UnknownMessage: "CloudWatch Logs (it serves DescribeLogStreams, GetLogEvents and FilterLogEvents)",
		Serialization:  awserr.LogsSerialization, MaxBody: maxBody, Logger: s.opts.Logger,
	})
}

// decode reads a request body into v, refusing members localaws does not serve.
func decode(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return invalid("localaws CloudWatch Logs does not support the member %s", f)
		}
		return awserr.New(awserr.LogsSerialization, "The request body is not the JSON the operation expects: %v", err)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return awserr.New(awserr.LogsInvalidParameter, format, args...)
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return s
}

// streams returns the sources of group, sorted by stream name, or ResourceNotFoundException.
func (s *Service) streams(group string) ([]Source, error) {
	if group == "" {
		return nil, invalid("1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null")
	}
	var out []Source
	for _, src := range s.opts.Sources() {
		if src.Group == group {
			out = append(out, src)
		}
	}
	if len(out) == 0 {
		return nil, awserr.New(awserr.LogsResourceNotFound, "The specified log group does not exist.")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Stream < out[j].Stream })
	return out, nil
}

func (s *Service) stream(group, name string) (Source, error) {
	srcs, err := s.streams(group)
	if err != nil {
		return Source{}, err
	}
	if name == "" {
		return Source{}, invalid("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null")
	}
	for _, src := range srcs {
		if src.Stream == name {
			return src, nil
		}
	}
	return Source{}, awserr.New(awserr.LogsResourceNotFound, "The specified log stream does not exist.")
}

func (s *Service) arn(group, stream string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", s.opts.Region, s.opts.AccountID, group, stream)
}

// limitOf checks a limit member against its range and returns it, or def when absent.
func limitOf(limit *int32, def, max int32) (int, error) {
	if limit == nil {
		return int(def), nil
	}
	if *limit < 1 || *limit > max {
		return 0, invalid("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d", *limit, max)
	}
	return int(*limit), nil
}

// position parses a token made of prefix and a position in [0, n].
func position(token, prefix string, n int) (int, bool) {
	rest, ok := strings.CutPrefix(token, prefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	if err != nil || i < 0 || i > n || strconv.Itoa(i) != rest {
		return 0, false
	}
	return i, true
}

var errBadToken = awserr.New(awserr.LogsInvalidParameter, "The specified nextToken is invalid.")

type describeLogStreamsInput struct {
	LogGroupName        string `json:"logGroupName"`
	LogStreamNamePrefix string `json:"logStreamNamePrefix"`
	OrderBy             string `json:"orderBy"`
	Descending          bool   `json:"descending"`
	NextToken           string `json:"nextToken"`
	Limit               *int32 `json:"limit"`
}

type logStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func (s *Service) describeLogStreams(body []byte) (any, error) {
	var in describeLogStreamsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit, 50, 50)
	if err != nil {
		return nil, err
	}
	switch in.OrderBy {
	case "", "LogStreamName":
	case "LastEventTime":
		if in.LogStreamNamePrefix != "" {
			return nil, invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, invalid("1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LastEventTime, LogStreamName]", quote(in.OrderBy))
	}
	srcs, err := s.streams(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	var streams []logStream
	for _, src := range srcs {
		if !strings.HasPrefix(src.Stream, in.LogStreamNamePrefix) {
			continue
		}
		events, err := readEvents(src.Path)
		if err != nil {
			return nil, fmt.Errorf("log stream %s: %w", src.Stream, err)
		}
		ls := logStream{LogStreamName: src.Stream, CreationTime: src.Created.UnixMilli(), Arn: s.arn(in.LogGroupName, src.Stream)}
		if len(events) > 0 {
			first, last := events[0].timestamp, events[len(events)-1].timestamp
			ls.FirstEventTimestamp, ls.LastEventTimestamp, ls.LastIngestionTime = &first, &last, &last
		}
		streams = append(streams, ls)
	}
	if in.OrderBy == "LastEventTime" {
		lastOf := func(ls logStream) int64 {
			if ls.LastEventTimestamp == nil {
				return 0
			}
			return *ls.LastEventTimestamp
		}
		sort.SliceStable(streams, func(i, j int) bool { return lastOf(streams[i]) < lastOf(streams[j]) })
	}
	if in.Descending {
		for i, j := 0, len(streams)-1; i < j; i, j = i+1, j-1 {
			streams[i], streams[j] = streams[j], streams[i]
		}
	}
	page, next, err := paginate(streams, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []logStream{}
	}
	return struct {
		LogStreams []logStream `json:"logStreams"`
		NextToken  string      `json:"nextToken,omitempty"`
	}{page, next}, nil
}

// paginate returns the page of items the token starts at and the token of the next page ("" at the end).
func paginate[T any](items []T, token string, limit int) ([]T, string, error) {
	start := 0
	if token != "" {
		var ok bool
		if start, ok = position(token, "", len(items)); !ok {
			return nil, "", errBadToken
		}
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

type getLogEventsInput struct {
	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
	StartTime     *int64 `json:"startTime"`
	EndTime       *int64 `json:"endTime"`
	NextToken     string `json:"nextToken"`
	Limit         *int32 `json:"limit"`
	StartFromHead bool   `json:"startFromHead"`
}

type outputEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

func (s *Service) getLogEvents(body []byte) (any, error) {
	var in getLogEventsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit, 10000, 10000)
	if err != nil {
		return nil, err
	}
	src, err := s.stream(in.LogGroupName, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	all, err := readEvents(src.Path)
	if err != nil {
		return nil, fmt.Errorf("log stream %s: %w", src.Stream, err)
	}
	events := inWindow(all, in.StartTime, in.EndTime)
	n := len(events)
	var lo, hi int
	switch {
	case in.NextToken != "":
		if k, ok := position(in.NextToken, "f/", n); ok {
			lo, hi = k, min(n, k+limit)
		} else if k, ok := position(in.NextToken, "b/", n); ok {
			lo, hi = max(0, k-limit), k
		} else {
			return nil, errBadToken
		}
	case in.StartFromHead:
		lo, hi = 0, min(n, limit)
	default:
		lo, hi = max(0, n-limit), n
	}
	out := make([]outputEvent, 0, hi-lo)
	for _, e := range events[lo:hi] {
		out = append(out, outputEvent{Timestamp: e.timestamp, Message: e.message, IngestionTime: e.timestamp})
	}
	return struct {
		Events            []outputEvent `json:"events"`
		NextForwardToken  string        `json:"nextForwardToken"`
		NextBackwardToken string        `json:"nextBackwardToken"`
	}{out, "f/" + strconv.Itoa(hi), "b/" + strconv.Itoa(lo)}, nil
}

// inWindow returns the events from start (inclusive) to end (exclusive), either bound optional. Events are
// in time order, so the window is a run of them.
func inWindow(events []event, start, end *int64) []event {
	lo, hi := 0, len(events)
	if start != nil {
		lo = sort.Search(len(events), func(i int) bool { return events[i].timestamp >= *start })
	}
	if end != nil {
		hi = sort.Search(len(events), func(i int) bool { return events[i].timestamp >= *end })
	}
	if hi < lo {
		return nil
	}
	return events[lo:hi]
}

type filterLogEventsInput struct {
	LogGroupName        string   `json:"logGroupName"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       string   `json:"filterPattern"`
	NextToken           string   `json:"nextToken"`
	Limit               *int32   `json:"limit"`
	Interleaved         *bool    `json:"interleaved"`
}

type filteredEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type searchedStream struct {
	LogStreamName      string `json:"logStreamName"`
	SearchedCompletely bool   `json:"searchedCompletely"`
}

func (s *Service) filterLogEvents(body []byte) (any, error) {
	var in filterLogEventsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit, 10000, 10000)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, invalid("logStreamNames and logStreamNamePrefix are mutually exclusive")
	}
	if in.Interleaved != nil && !*in.Interleaved {
		return nil, invalid("localaws CloudWatch Logs always interleaves events; leave interleaved unset or true")
	}
	match, err := compilePattern(in.FilterPattern)
	if err != nil {
		return nil, err
	}
	srcs, err := s.streams(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, name := range in.LogStreamNames {
		wanted[name] = true
	}
	var found []filteredEvent
	searched := []searchedStream{}
	for _, src := range srcs {
		if (len(wanted) > 0 && !wanted[src.Stream]) || !strings.HasPrefix(src.Stream, in.LogStreamNamePrefix) {
			continue
		}
		delete(wanted, src.Stream)
		events, err := readEvents(src.Path)
		if err != nil {
			return nil, fmt.Errorf("log stream %s: %w", src.Stream, err)
		}
		h := fnv.New64a()
		_, _ = h.Write([]byte(src.Stream))
		offset := len(events) - len(inWindow(events, in.StartTime, nil))
		for i, e := range inWindow(events, in.StartTime, in.EndTime) {
			if match(e.message) {
				found = append(found, filteredEvent{LogStreamName: src.Stream, Timestamp: e.timestamp, Message: e.message,
					IngestionTime: e.timestamp, EventID: fmt.Sprintf("%020d%036d", h.Sum64(), offset+i)})
			}
		}
		searched = append(searched, searchedStream{LogStreamName: src.Stream, SearchedCompletely: true})
	}
	if len(wanted) > 0 {
		return nil, awserr.New(awserr.LogsResourceNotFound, "The specified log stream does not exist.")
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].Timestamp < found[j].Timestamp })
	page, next, err := paginate(found, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []filteredEvent{}
	}
	return struct {
		Events             []filteredEvent  `json:"events"`
		SearchedLogStreams []searchedStream `json:"searchedLogStreams"`
		NextToken          string           `json:"nextToken,omitempty"`
	}{page, searched, next}, nil
}

// compilePattern turns a filter pattern into a matcher: empty matches every line, "a quoted phrase" a line
// that contains it, plain terms a line that contains each of them.
func compilePattern(p string) (func(string) bool, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return func(string) bool { return true }, nil
	}
	if len(p) >= 2 && strings.HasPrefix(p, `"`) && strings.HasSuffix(p, `"`) && !strings.Contains(p[1:len(p)-1], `"`) {
		phrase := p[1 : len(p)-1]
		return func(m string) bool { return strings.Contains(m, phrase) }, nil
	}
	terms := strings.Fields(p)
	for _, t := range terms {
		if strings.ContainsAny(t[:1], `?-{[%"`) || strings.ContainsAny(t, `"{}[]`) {
			return nil, invalid("localaws CloudWatch Logs supports only plain terms or one \"quoted phrase\" as filterPattern, not %q", quote(p))
		}
	}
	return func(m string) bool {
		for _, t := range terms {
			if !strings.Contains(m, t) {
				return false
			}
		}
		return true
	}, nil
}
