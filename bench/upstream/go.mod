module github.com/pcusage/pcusage/bench/upstream

go 1.24.0
