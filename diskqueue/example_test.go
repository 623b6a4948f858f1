package diskqueue_test

import (
	"context"
	"fmt"
	"os"

	"github.com/soliplex/fieldlog/diskqueue"
)

func Example() {
	dir, _ := os.MkdirTemp("", "queue")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	q, err := diskqueue.Open(dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = q.Append(diskqueue.Normal, []byte(`{"message":"started"}`))
	_ = q.AppendSync(ctx, diskqueue.High, []byte(`{"message":"payment failed"}`)) // durable on return

	batch, _ := q.Peek(100, 900<<10) // high class first
	for _, it := range batch {
		fmt.Println(it.Class, string(it.Data))
	}
	// Confirm what the server accepted: exactly these ids.
	_ = q.Delete(batch[0].ID, batch[1].ID)
	fmt.Println("pending:", q.Pending())
	_ = q.Close(ctx)
	// Output:
	// high {"message":"payment failed"}
	// normal {"message":"started"}
	// pending: 0
}
