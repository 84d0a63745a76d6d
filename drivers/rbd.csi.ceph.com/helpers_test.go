package main

import "github.com/valyala/fastjson"

// fastString is a JSON string value for editing fixtures.
func fastString(s string) *fastjson.Value {
	var a fastjson.Arena
	return a.NewString(s)
}
