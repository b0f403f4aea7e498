# Homebrew formula for ostel, built from the release tarball that
# `cmake --build build --target package_source` makes (ostel-VERSION.tar.gz).
#
# Status: written against Homebrew's Formula Cookbook and never run (no Mac was available). ostel
# itself is compiled and linked for arm64 and x86_64 macOS 12 in CI (scripts/macos-build.sh), but
# has never run on a Mac. Before publishing: set url and sha256 to the uploaded tarball
# (`shasum -a 256 ostel-VERSION.tar.gz`). Homebrew installs formulae only from a tap ("Homebrew
# requires formulae to be in a tap" for a file path), so try it through a local one:
#   brew tap-new --no-git "$USER/ostel"
#   cp packaging/homebrew/ostel.rb "$(brew --repository "$USER/ostel")/Formula/"
#   brew install --build-from-source "$USER/ostel/ostel"
#   brew test "$USER/ostel/ostel" && brew audit --strict --new "$USER/ostel/ostel"
class Ostel < Formula
  desc "Run llama.cpp under OS telemetry: memory fit, speed, paging, pressure"
  # homepage and url are placeholders until the project has a public home and a release.
  homepage "https://github.com/ostel-dev/ostel"
  url "https://github.com/ostel-dev/ostel/releases/download/v0.1.0/ostel-0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000" # set at release
  # license: the repository has no LICENSE file yet; add `license "..."` when it has one.

  depends_on "cmake" => :build
  depends_on "pkg-config" => :build
  depends_on "cjson"
  depends_on "curl"
  depends_on "libpq"
  # ostel runs llama.cpp's tools (llama-completion, llama-cli, llama-bench, ...), found on PATH.
  depends_on "llama.cpp"
  depends_on :macos => :monterey # the minimum the cross-build targets (macOS 12)
  depends_on "sqlite"

  # The chart library embedded into HTML reports (pinned in package-lock.json).
  resource "uplot" do
    url "https://registry.npmjs.org/uplot/-/uplot-1.6.32.tgz"
    sha256 "4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d"
  end

  def install
    (buildpath/"node_modules/uplot").install resource("uplot")
    # curl and libpq are keg-only in Homebrew: named here so CMake takes them, not macOS's own curl.
    args = %W[
      -DOSTEL_TESTS=OFF
      -DOSTEL_WERROR=OFF
      -DCMAKE_PREFIX_PATH=#{Formula["sqlite"].opt_prefix};#{Formula["cjson"].opt_prefix};#{Formula["curl"].opt_prefix};#{Formula["libpq"].opt_prefix}
    ]
    system "cmake", "-S", ".", "-B", "build", *args, *std_cmake_args
    system "cmake", "--build", "build"
    # bin/ostel, share/man/man1/ostel.1, share/bash-completion/completions/ostel,
    # share/zsh/site-functions/_ostel (the last three generated from the option tables).
    system "cmake", "--install", "build"
  end

  test do
    assert_match "ostel #{version}", shell_output("#{bin}/ostel --version")
    assert_match "llama.cpp", shell_output("#{bin}/ostel --version")
    # The log parser, with no model needed: one llama.cpp timing line.
    (testpath/"llama_output.log").write <<~EOS
      llama_perf_context_print:        eval time =     100.00 ms /    10 runs   (   10.00 ms per token,   100.00 tokens per second)
    EOS
    assert_match "100.00 tokens/s", shell_output("#{bin}/ostel parse #{testpath}/llama_output.log")
    # The SQLite store: a missing database is an error with exit status 1, not a crash.
    assert_match "no database", shell_output("#{bin}/ostel db info --db #{testpath}/none.db 2>&1", 1)
    # The darwin backend: `ostel run` of a plain command samples its memory, CPU and paging, and
    # the system's pressure level (no model needed).
    cd testpath do
      system bin/"ostel", "run", "-t", "sleep", "--interval", "10ms", "--", "/bin/sleep", "0.3"
      csv = Dir["runs/*-sleep/metrics.csv"].first
      assert csv, "ostel run wrote no metrics.csv"
      row = File.readlines(csv)[2].split(",")
      assert_operator row[1].to_f, :>, 0, "rss_mb of /bin/sleep is empty or zero"
      assert_includes %w[1 2 4], row[3], "vm_pressure_flag is not 1, 2 or 4"
      # footprint_mb and footprint_peak_mb (proc_pid_rusage RUSAGE_INFO_V4), the last two columns
      assert_operator row[20].to_f, :>, 0, "footprint_mb of /bin/sleep is empty or zero"
      assert_operator row[21].to_f, :>=, row[20].to_f, "footprint_peak_mb is below footprint_mb"
    end
    assert_predicate man1/"ostel.1", :exist?
    # share/bash-completion/completions (read by bash-completion@2), not etc/bash_completion.d
    assert_predicate share/"bash-completion/completions/ostel", :exist?
    assert_predicate zsh_completion/"_ostel", :exist?
  end
end
