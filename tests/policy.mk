# tests: policy
