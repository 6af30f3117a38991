"""access-review: collectors (IAM, Roo Code settings, org settings, roster) and checks."""
