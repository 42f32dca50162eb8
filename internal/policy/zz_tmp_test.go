package policy

import (
	"context"
	"os"
	"testing"
)

func TestTmpRun(t *testing.T) {
	p, f, err := RunTests(context.Background(), nil, os.Stdout, false)
	t.Log(p, f, err)
}
