// Starts a cocoon-flow clone from Go by workflow type name, without importing any cocoon-flow
// code: the request is plain JSON and the workflow id follows cocoon-flow's rule
// (clone/<node>/<vm>/<request id>), so a repeated start joins the running clone.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// CloneRequest mirrors cocoon-flow's request; fields left empty are omitted.
type CloneRequest struct {
	Node      string     `json:"node"`
	VMName    string     `json:"vmName"`
	Snapshot  string     `json:"snapshot"`
	RequestID string     `json:"requestId,omitempty"`
	Resources *Resources `json:"resources,omitempty"`
}

type Resources struct {
	CPU         int   `json:"cpu,omitempty"`
	MemoryBytes int64 `json:"memoryBytes,omitempty"`
}

func main() {
	node := flag.String("node", "", "node the VM goes on")
	vm := flag.String("name", "", "VM name")
	requestID := flag.String("request-id", "", "caller's request id, e.g. the pod UID")
	flag.Parse()
	if *node == "" || *vm == "" || flag.NArg() != 1 {
		log.Fatal("usage: go-start-clone --node NODE --name VM [--request-id ID] SNAPSHOT")
	}

	c, err := client.Dial(client.Options{HostPort: envOr("TEMPORAL_ADDRESS", "localhost:7233"), Namespace: envOr("TEMPORAL_NAMESPACE", "default")})
	if err != nil {
		log.Fatalf("cannot reach Temporal: %v", err)
	}
	defer c.Close()

	id := fmt.Sprintf("clone/%s/%s", *node, *vm)
	if *requestID != "" {
		id += "/" + *requestID
	}
	request := CloneRequest{Node: *node, VMName: *vm, Snapshot: flag.Arg(0), RequestID: *requestID}

	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                "cocoon-clone",
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
	}, "cloneVM", request)
	if err != nil {
		log.Fatalf("start clone: %v", err)
	}

	// The result is the VM record as `cocoon vm inspect` prints it.
	var vmRecord map[string]any
	if err := run.Get(context.Background(), &vmRecord); err != nil {
		log.Fatalf("clone %s failed: %v", id, err)
	}
	out, _ := json.MarshalIndent(vmRecord, "", "  ")
	fmt.Println(string(out))
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}
