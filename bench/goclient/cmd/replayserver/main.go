// Command replayserver is bench/snapshots' trivial gRPC server: at start it
// calls ListUsageRecords once on a pcusage server and keeps the serialized
// messages it got; then it answers every ListUsageRecords call with exactly
// those bytes, sent as they are (a pass-through codec: nothing is parsed or
// serialized per call). It is the least any gRPC server can do to serve that
// list, so pcusage serving a held snapshot is measured against it.
//
//	replayserver --source=127.0.0.1:PORT [--page_size=100] [--listen=127.0.0.1:0] [--port_file=FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
)

const method = "ListUsageRecords"

// raw is a message as bytes; rawCodec hands them through untouched.
type raw struct{ bytes []byte }

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(*raw)
	if !ok {
		return nil, fmt.Errorf("rawCodec cannot marshal %T", v)
	}
	return m.bytes, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*raw)
	if !ok {
		return fmt.Errorf("rawCodec cannot unmarshal into %T", v)
	}
	m.bytes = append(m.bytes[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

func main() {
	source := flag.String("source", "", "pcusage server `host:port` whose answer is replayed")
	pageSize := flag.Int("page_size", 100, "records per message asked of the source")
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on (loopback)")
	portFile := flag.String("port_file", "", "write the bound port here once serving")
	flag.Parse()
	if err := run(*source, int32(*pageSize), *listen, *portFile); err != nil {
		fmt.Fprintf(os.Stderr, "replayserver: %v\n", err)
		os.Exit(1)
	}
}

func run(source string, pageSize int32, listen, portFile string) error {
	if source == "" {
		return errors.New("--source is required")
	}
	messages, err := record(source, pageSize)
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	server := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
	server.RegisterService(&grpc.ServiceDesc{
		ServiceName: "partnercenter.usage.v1.UsageRecordsService",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{
			StreamName:    method,
			ServerStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				var request raw
				if err := stream.RecvMsg(&request); err != nil {
					return err
				}
				for _, m := range messages {
					if err := stream.SendMsg(m); err != nil {
						return err
					}
				}
				return nil
			},
		}},
	}, struct{}{})
	if portFile != "" {
		port := listener.Addr().(*net.TCPAddr).Port
		tmp := filepath.Join(filepath.Dir(portFile), "."+filepath.Base(portFile)+".tmp")
		if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, portFile); err != nil {
			return err
		}
	}
	return server.Serve(listener)
}

// record lists once through the source and returns every message, serialized.
func record(source string, pageSize int32) ([]*raw, error) {
	conn, err := grpc.NewClient(source, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := usagev1.NewUsageRecordsServiceClient(conn).ListUsageRecords(ctx,
		&usagev1.ListUsageRecordsRequest{PageSize: pageSize})
	if err != nil {
		return nil, err
	}
	var messages []*raw
	for {
		response, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return messages, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing from %s: %w", source, err)
		}
		bytes, err := proto.Marshal(response)
		if err != nil {
			return nil, err
		}
		messages = append(messages, &raw{bytes})
	}
}
