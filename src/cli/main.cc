#include "cli/app.h"

int main(int argc, char** argv) { return discoblocks::cli::Run(argc, argv); }
