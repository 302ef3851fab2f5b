package sagemaker

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"
)

func TestSearch(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	ctx := context.Background()
	for _, g := range []string{"churn", "fraud"} {
		_, err := e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String(g),
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String(g + "-team")}}})
		require.NoError(t, err)
	}
	register := func(group string, status types.ModelApprovalStatus) {
		t.Helper()
		_, err := e.client.CreateModelPackage(ctx, &sm.CreateModelPackageInput{
			ModelPackageGroupName:      aws.String(group),
			ModelApprovalStatus:        status,
			InferenceSpecification:     &types.InferenceSpecification{Containers: []types.ModelPackageContainerDefinition{{Image: aws.String(testImage)}}},
			CustomerMetadataProperties: map[string]string{"DataDate": "2019-10-01"},
		})
		require.NoError(t, err)
	}
	register("churn", types.ModelApprovalStatusApproved)
	register("churn", types.ModelApprovalStatusPendingManualApproval)
	register("fraud", types.ModelApprovalStatusApproved)
	register("churn", types.ModelApprovalStatusApproved)

	filter := func(name string, op types.Operator, value string) types.Filter {
		return types.Filter{Name: aws.String(name), Operator: op, Value: aws.String(value)}
	}
	versions := func(in *sm.SearchInput) []string {
		t.Helper()
		var got []string
		p := sm.NewSearchPaginator(e.client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			require.NoError(t, err)
			for _, r := range page.Results {
				require.NotNil(t, r.ModelPackage)
				got = append(got, aws.ToString(r.ModelPackage.ModelPackageName)+"/"+string(rune('0'+aws.ToInt32(r.ModelPackage.ModelPackageVersion))))
			}
		}
		return got
	}
	for _, tc := range []struct {
		name string
		in   sm.SearchInput
		want []string
	}{
		{"every package, newest first", sm.SearchInput{}, []string{"churn/3", "fraud/1", "churn/2", "churn/1"}},
		{"approved packages of a group, by version", sm.SearchInput{SearchExpression: &types.SearchExpression{Filters: []types.Filter{
			filter("ModelPackageGroupName", types.OperatorEquals, "churn"), filter("ModelApprovalStatus", types.OperatorEquals, "Approved"),
		}}, SortBy: aws.String("ModelPackageVersion")}, []string{"churn/3", "churn/1"}},
		{"or", sm.SearchInput{SearchExpression: &types.SearchExpression{Operator: types.BooleanOperatorOr, Filters: []types.Filter{
			filter("ModelPackageGroupName", types.OperatorEquals, "fraud"), filter("ModelApprovalStatus", types.OperatorEquals, "PendingManualApproval"),
		}}, SortBy: aws.String("CreationTime"), SortOrder: types.SearchSortOrderAscending}, []string{"churn/2", "fraud/1"}},
		{"in, one a page", sm.SearchInput{SearchExpression: &types.SearchExpression{Filters: []types.Filter{
			filter("ModelApprovalStatus", types.OperatorIn, "Approved,Rejected"),
		}}, SortBy: aws.String("ModelPackageVersion"), SortOrder: types.SearchSortOrderAscending, MaxResults: aws.Int32(1)}, []string{"churn/1", "fraud/1", "churn/3"}},
		{"metadata and numbers", sm.SearchInput{SearchExpression: &types.SearchExpression{Filters: []types.Filter{
			filter("CustomerMetadataProperties.DataDate", types.OperatorEquals, "2019-10-01"), filter("ModelPackageVersion", types.OperatorGreaterThan, "1"),
		}}}, []string{"churn/3", "churn/2"}},
		{"contains, and a property that does not exist", sm.SearchInput{SearchExpression: &types.SearchExpression{Filters: []types.Filter{
			filter("ModelPackageGroupName", types.OperatorContains, "rau"), {Name: aws.String("ApprovalDescription"), Operator: types.OperatorNotExists},
		}}}, []string{"fraud/1"}},
		{"no match", sm.SearchInput{SearchExpression: &types.SearchExpression{Filters: []types.Filter{
			filter("ModelPackageGroupName", types.OperatorEquals, "nothing"),
		}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Resource = types.ResourceTypeModelPackage
			require.Equal(t, tc.want, versions(&tc.in))
		})
	}

	t.Run("groups by tag", func(t *testing.T) {
		out, err := e.client.Search(ctx, &sm.SearchInput{Resource: types.ResourceTypeModelPackageGroup,
			SearchExpression: &types.SearchExpression{Filters: []types.Filter{filter("Tags.team", types.OperatorEquals, "fraud-team")}}})
		require.NoError(t, err)
		require.Len(t, out.Results, 1)
		g := out.Results[0].ModelPackageGroup
		require.Equal(t, "fraud", aws.ToString(g.ModelPackageGroupName))
		require.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud", aws.ToString(g.ModelPackageGroupArn))
		require.Equal(t, []types.Tag{{Key: aws.String("team"), Value: aws.String("fraud-team")}}, g.Tags)
		require.Equal(t, int64(1), aws.ToInt64(out.TotalHits.Value))
	})
	t.Run("model cards: none, as the SageMaker Python SDK's register() looks for", func(t *testing.T) {
		out, err := e.client.Search(ctx, &sm.SearchInput{Resource: types.ResourceTypeModelCard,
			SearchExpression: &types.SearchExpression{Filters: []types.Filter{filter("ModelId", types.OperatorEquals, "arn:aws:sagemaker:us-east-1:123456789012:model/m")}}})
		require.NoError(t, err)
		require.Empty(t, out.Results)
		require.Nil(t, out.NextToken)
	})
	for _, tc := range []struct {
		name string
		in   sm.SearchInput
		want string
	}{
		{"unsupported resource", sm.SearchInput{Resource: types.ResourceTypeTrainingJob}, "localaws does not support Search for resource TrainingJob; localaws searches ModelPackage, ModelPackageGroup and ModelCard"},
		{"unknown resource", sm.SearchInput{Resource: "Nothing"}, "Value 'Nothing' at 'resource' failed to satisfy constraint: Member must satisfy enum value set"},
		{"nested filters", sm.SearchInput{Resource: types.ResourceTypeModelPackage, SearchExpression: &types.SearchExpression{
			NestedFilters: []types.NestedFilters{{NestedPropertyName: aws.String("Tags"), Filters: []types.Filter{filter("Tags.Key", types.OperatorEquals, "x")}}}}},
			"localaws does not support NestedFilters or SubExpressions"},
		{"empty expression", sm.SearchInput{Resource: types.ResourceTypeModelPackage, SearchExpression: &types.SearchExpression{}}, "at least one Filter"},
		{"equals without a value", sm.SearchInput{Resource: types.ResourceTypeModelPackage, SearchExpression: &types.SearchExpression{
			Filters: []types.Filter{{Name: aws.String("ModelPackageGroupName"), Operator: types.OperatorEquals}}}}, "must have a Value"},
		{"bad operator", sm.SearchInput{Resource: types.ResourceTypeModelPackage, SearchExpression: &types.SearchExpression{
			Filters: []types.Filter{{Name: aws.String("ModelPackageGroupName"), Operator: "Like", Value: aws.String("x")}}}}, "at 'searchExpression.filters.1.member.operator'"},
		{"max results", sm.SearchInput{Resource: types.ResourceTypeModelPackage, MaxResults: aws.Int32(101)}, "less than or equal to 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.Search(ctx, &tc.in)
			code, msg := apiCode(t, err)
			require.Equal(t, "ValidationException", code)
			require.Contains(t, msg, tc.want)
		})
	}
}
