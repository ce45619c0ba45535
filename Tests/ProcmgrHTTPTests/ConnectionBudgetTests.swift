import ProcmgrHTTP
import Testing

@Suite("The API's share of the descriptor limit")
struct ConnectionBudgetTests {
    @Test("a high limit leaves the configured cap as it is")
    func highLimit() {
        let budget = ConnectionBudget(configured: 512, descriptorLimit: 1_048_576, reserved: 2_400)
        #expect(budget.maxConnections == 512)
        #expect(budget.reserved == 2_400)
    }

    @Test("a low limit: the API gets what supervision leaves over")
    func lowLimit() {
        // 1,024 − 656 = 368 < 512
        #expect(ConnectionBudget(configured: 512, descriptorLimit: 1_024, reserved: 656).maxConnections == 368)
    }

    @Test("never fewer than a handful, so /healthz can answer on a starved agent")
    func floor() {
        #expect(ConnectionBudget(configured: 512, descriptorLimit: 1_024, reserved: 2_400).maxConnections == 16)
        #expect(ConnectionBudget(configured: 4, descriptorLimit: 1_048_576, reserved: 0).maxConnections == 16)
        #expect(ConnectionBudget(configured: 4, descriptorLimit: 1_048_576, reserved: 0).reserved == ConnectionBudget.baseReserve)
    }
}
