-- wrk script: GETs the paths listed in a file (one a line), round robin, each thread starting
-- at its own place in the list, so the requests spread over every path.
--
--   wrk -t2 -c100 -d15s --latency -s bench/session_playlists.lua http://127.0.0.1:PORT -- PATHS_FILE
--
-- The requests are formatted once, in init; a non-200 answer counts in wrk's "Non-2xx".

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end

function init(args)
  requests = {}
  for path in io.lines(args[1]) do
    if path ~= "" then
      requests[#requests + 1] = wrk.format("GET", path)
    end
  end
  assert(#requests > 0, "no paths in " .. tostring(args[1]))
  -- Threads start a prime stride apart, so two threads rarely ask for the same path at once.
  next_index = ((thread_number - 1) * 7919) % #requests
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
