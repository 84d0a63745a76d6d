// The admission soak's client (bench/soak.sh): standard library only.
module discoblocks.dev/tools/soak

go 1.26
