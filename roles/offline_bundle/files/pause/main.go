// Command pause is the init process of a Kubernetes pod sandbox, written for the offline bundle.
//
// It keeps the pod's namespaces alive by doing nothing until it receives SIGINT or SIGTERM, and,
// being PID 1 of the pod's PID namespace when process namespace sharing is on, it collects the exit
// status of every orphaned process that is re-parented to it so that no zombie is left behind.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is stamped at build time with -ldflags "-X main.version=<tag>".
var version = "unset"

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "-v", "-version", "--version":
			fmt.Printf("pause %s (gitops-platform offline bundle)\n", version)
			return
		default:
			fmt.Fprintf(os.Stderr, "usage: %s [-v]\n", os.Args[0])
			os.Exit(2)
		}
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "pause: not running as PID 1; orphans are reaped only when they are re-parented here")
	}

	events := make(chan os.Signal, 16)
	signal.Notify(events, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for event := range events {
		if event == syscall.SIGCHLD {
			reapExited()
			continue
		}
		fmt.Fprintf(os.Stderr, "pause: %v received, exiting\n", event)
		os.Exit(0)
	}
}

// reapExited waits for every child that has already exited. Several exits may be folded into a
// single SIGCHLD, so it loops until no exited child is left, without ever blocking.
func reapExited() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
	}
}
