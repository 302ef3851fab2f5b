package localdefaults_test

import (
	"testing"

	"github.com/mdlc/mdlc/internal/localdefaults"
	"github.com/mdlc/mdlc/localaws"
)

// TestLocalAWSAgrees holds the clients' local region and account ID to the ones localaws answers with, so
// that ARNs the clients build (parity, policies) name what localaws serves. localaws keeps its own constants
// so that the emulator does not depend on the clients' packages.
func TestLocalAWSAgrees(t *testing.T) {
	if localdefaults.Region != localaws.DefaultRegion {
		t.Errorf("localdefaults.Region = %q, localaws.DefaultRegion = %q", localdefaults.Region, localaws.DefaultRegion)
	}
	if localdefaults.AccountID != localaws.DefaultAccountID {
		t.Errorf("localdefaults.AccountID = %q, localaws.DefaultAccountID = %q", localdefaults.AccountID, localaws.DefaultAccountID)
	}
}
