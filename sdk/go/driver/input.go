package driver

import (
	"fmt"

	"github.com/valyala/fastjson"
)

// DocumentEnv returns an Env over an ABI v2 call document: one JSON object whose
// member names are ABI v1's variable names (docs/driver-abi.md). A driver reads
// the same text either way:
//   - an object or array member reads as its JSON text;
//   - a string member reads as the string;
//   - null or an absent member is unset;
//   - a number or a literal reads as its JSON text.
//
// The first of several members of one name wins.
func DocumentEnv(document []byte) (Env, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(document)
	if err != nil {
		return nil, fmt.Errorf("driver: the host's input is not valid JSON: %w", err)
	}
	object, err := v.Object()
	if err != nil {
		return nil, fmt.Errorf("driver: the host's input is not a JSON object but %s", v.Type())
	}
	values := make(map[string]string, object.Len())
	object.Visit(func(key []byte, member *fastjson.Value) {
		name := string(key)
		if _, seen := values[name]; seen {
			return
		}
		switch member.Type() {
		case fastjson.TypeNull:
		case fastjson.TypeString:
			// The type was checked, so StringBytes cannot fail.
			text, _ := member.StringBytes()
			values[name] = string(text)
		default:
			values[name] = string(member.MarshalTo(nil))
		}
	})
	return MapEnv(values), nil
}
