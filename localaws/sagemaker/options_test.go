package sagemaker

import (
	"context"
	"testing"

	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"
)

// TestNewRequiresOptions: the service has no defaults of its own for what package localaws defaults
// (region, account), so that each has one home; a missing option is an error that names it.
func TestNewRequiresOptions(t *testing.T) {
	full := func() Options {
		return Options{Dir: t.TempDir(), Objects: s3mem.New(), Algorithms: fakeResolver{}, Region: "us-east-1", AccountID: testAccount}
	}
	for name, tc := range map[string]struct {
		edit func(*Options)
		want string
	}{
		"Dir":        {func(o *Options) { o.Dir = "" }, "Dir is required"},
		"Objects":    {func(o *Options) { o.Objects = nil }, "Objects is required"},
		"Algorithms": {func(o *Options) { o.Algorithms = nil }, "Algorithms is required"},
		"Region":     {func(o *Options) { o.Region = "" }, "Region and AccountID are required"},
		"AccountID":  {func(o *Options) { o.AccountID = "" }, "Region and AccountID are required"},
	} {
		t.Run(name, func(t *testing.T) {
			opts := full()
			tc.edit(&opts)
			_, err := New(context.Background(), opts)
			require.ErrorContains(t, err, tc.want)
		})
	}
	svc, err := New(context.Background(), full())
	require.NoError(t, err)
	require.NoError(t, svc.Close())
}
