module discoblocks.dev/drivers

go 1.24

require (
	github.com/discoblocks/discoblocks/sdk/go v0.0.0
	github.com/valyala/fastjson v1.6.10
)

// The SDK lives in this repository (sdk/go); drivers build against it as it is.
replace github.com/discoblocks/discoblocks/sdk/go => ../sdk/go
