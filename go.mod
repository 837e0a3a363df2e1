module github.com/hybi-go/hybi

go 1.23
