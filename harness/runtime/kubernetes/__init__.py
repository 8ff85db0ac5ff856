"""Services as pods in a Kubernetes cluster: the harness deletes pods through the API
(and, with Chaos Mesh, creates its objects), never starts or restarts one itself."""
