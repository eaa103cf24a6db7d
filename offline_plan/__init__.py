"""`make plan`: the program run under the SDK's mocks (mock_engine.py), its Kubernetes objects checked against the
cluster's and the charts' schemas (pinned_schemas.py, schemas/), the policy pack asked over its gRPC server
(policy_client.py), and the report (plan.py)."""
